#include "scan/api.h"

#include <map>
#include <string>

namespace lockhound::scan {
namespace {

enum Flag : unsigned { F_TRY = 1, F_TRYZ = 2, F_NESTED = 4, F_NEST = 8, F_INTR = 16 };

struct Row {
  std::string kind;  // "lock", "irq", "sleep", "wait", "entry", "field", "guard"
  std::string name;
  std::string what;  // documentation text
};

struct Tables {
  std::map<std::string, CallApi, std::less<>> calls;
  std::map<std::string, LockApi, std::less<>> locks;
  std::map<std::string, FieldApi, std::less<>> fields;
  std::map<std::string, std::string, std::less<>> guards;
  std::vector<Row> rows;
};

constexpr Mode mode_of(std::string_view m) {
  return m == "read" || m == "rdirq" ? Mode::read : m == "rread" ? Mode::recursive_read : Mode::write;
}
constexpr IrqEffect irq_of(std::string_view m) {
  return m == "irq" ? IrqEffect::irq : m == "irqsave" ? IrqEffect::irqsave : m == "bh" ? IrqEffect::bh : IrqEffect::none;
}
constexpr IrqOp irqop_of(std::string_view m) {
  return m == "disable" ? IrqOp::disable : m == "enable" ? IrqOp::enable : m == "save" ? IrqOp::save
         : m == "restore" ? IrqOp::restore : m == "bh_disable" ? IrqOp::bh_disable
         : m == "bh_enable" ? IrqOp::bh_enable : IrqOp::none;
}
constexpr RunContext ctx_of(std::string_view m) {
  return m == "hardirq" ? RunContext::hardirq : m == "softirq" ? RunContext::softirq
         : m == "signal" ? RunContext::signal : RunContext::process;
}

std::string lock_doc(const LockApi& a) {
  std::string s = std::string(a.acquire ? "acquire " : "release ") + std::string(kind_name(a.kind));
  if (a.mode == Mode::read) s += a.read_irq_recursive ? " (read; recursive in irq)" : " (read)";
  if (a.mode == Mode::recursive_read) s += " (recursive read)";
  if (a.irq == IrqEffect::irq) s += a.acquire ? ", hardirqs off" : ", hardirqs on";
  if (a.irq == IrqEffect::irqsave) s += a.acquire ? ", hardirqs saved and off" : ", hardirqs restored";
  if (a.irq == IrqEffect::bh) s += a.acquire ? ", softirqs off" : ", softirqs on";
  if (a.trylock) s += a.try_zero ? ", trylock (0 = taken)" : ", trylock (non-zero = taken)";
  if (a.interruptible) s += ", may give up (0 = taken)";
  if (a.nested) s += ", subclass = argument " + std::to_string(a.extra_arg);
  if (a.nest_lock) s += ", nest lock = argument " + std::to_string(a.extra_arg);
  if (a.lock_arg < 0) s += ", class `" + std::string(a.member) + "`";
  else if (!a.member.empty()) s += ", class `struct T::" + std::string(a.member) + "` of argument " + std::to_string(a.lock_arg);
  else s += ", lock = argument " + std::to_string(a.lock_arg);
  return s;
}

const Tables& tables() {
  static const Tables tbl = [] {
    Tables t;
#define LH_LOCK(name_, action_, kind_, mode_, irq_, lock_arg_, extra_, flags_, member_)         \
  {                                                                                          \
    LockApi a;                                                                               \
    a.acquire = std::string_view(#action_) == "acquire";                                     \
    a.kind = LockKind::kind_;                                                                \
    a.mode = mode_of(#mode_);                                                                \
    a.read_irq_recursive = std::string_view(#mode_) == "rdirq";                              \
    a.irq = irq_of(#irq_);                                                                   \
    a.lock_arg = lock_arg_;                                                                  \
    a.extra_arg = extra_;                                                                    \
    unsigned fl = unsigned(flags_);                                                          \
    a.trylock = fl & (F_TRY | F_TRYZ);                                                       \
    a.try_zero = fl & (F_TRYZ | F_INTR);                                                     \
    a.interruptible = fl & F_INTR;                                                           \
    a.nested = fl & F_NESTED;                                                                \
    a.nest_lock = fl & F_NEST;                                                               \
    a.member = member_;                                                                      \
    t.locks[#name_] = a;                                                                     \
    t.rows.push_back({"lock", #name_, lock_doc(a)});                                         \
  }
#define LH_IRQ(name_, op_)                                 \
  t.calls[#name_].irq = irqop_of(#op_);                    \
  t.rows.push_back({"irq", #name_, #op_});
#define LH_SLEEP(name_, gfp_)                                                                     \
  t.calls[#name_].sleeps = true;                                                                  \
  t.calls[#name_].gfp_arg = gfp_;                                                                 \
  t.rows.push_back({"sleep", #name_,                                                              \
                    gfp_ < 0 ? std::string("may sleep")                                           \
                             : "may sleep when argument " + std::to_string(gfp_) +                \
                                   "'s GFP flags allow direct reclaim"});
#define LH_WAIT(name_, obj_)                                                                     \
  t.calls[#name_].wait_object_arg = obj_;                                                        \
  t.rows.push_back({"wait", #name_, "waits for the callbacks registered or queued on argument " #obj_});
#define LH_QUEUE(name_, q_, w_)                                                                \
  t.calls[#name_].queue_arg = q_;                                                              \
  t.calls[#name_].queue_work_arg = w_;                                                         \
  t.rows.push_back({"queue", #name_,                                                           \
                    std::string("queues the work item in argument ") + #w_ + " on " +          \
                        (q_ < 0 ? std::string("the system workqueue (`system_wq`)")             \
                                : "the workqueue in argument " + std::to_string(q_))});
#define LH_ENTRY(name_, cb_, obj_, ctx_)                                                           \
  t.calls[#name_].entries.push_back({cb_, obj_, ctx_of(#ctx_)});                                   \
  t.rows.push_back({"entry", #name_, "argument " #cb_ " runs in " #ctx_ " context (object: argument " #obj_ ")"});
#define LH_FIELD(rec_, field_, ctx_)                                              \
  t.fields[#rec_ "::" #field_].context = ctx_of(#ctx_);                           \
  t.rows.push_back({"field", "struct " #rec_ "::" #field_, "a function stored here runs in " #ctx_ " context"});
#define LH_CALLED(rec_, field_, ctx_, irqs_, held_, kind_)                                  \
  {                                                                                        \
    FieldApi& f = t.fields[#rec_ "::" #field_];                                            \
    f.context = ctx_of(#ctx_);                                                             \
    f.irqs = std::string_view(#irqs_) == "hardirqs_off"   ? EntryIrq::hardirqs_off          \
             : std::string_view(#irqs_) == "softirqs_off" ? EntryIrq::softirqs_off          \
                                                          : EntryIrq::on;                  \
    f.held = held_;                                                                        \
    f.held_kind = LockKind::kind_;                                                         \
    std::string doc = "called in " #ctx_ " context";                                       \
    if (f.irqs == EntryIrq::hardirqs_off) doc += " with hardirqs off";                     \
    if (f.irqs == EntryIrq::softirqs_off) doc += " with softirqs off";                     \
    if (!f.held.empty()) doc += std::string(", holding `") + held_ + "` (" #kind_ ")";    \
    t.rows.push_back({"called", "struct " #rec_ "::" #field_, doc});                       \
  }
#define LH_GUARD(g_, api_)                                             \
  t.guards[#g_] = #api_;                                               \
  t.rows.push_back({"guard", "guard(" #g_ ")", "takes the lock as " #api_ " until the end of the scope"});
#define LH_BIT(name_, effect_)                                                          \
  t.calls[#name_].bit = std::string_view(#effect_) == "set"          ? CallApi::Bit::set        \
                        : std::string_view(#effect_) == "clear"      ? CallApi::Bit::clear      \
                        : std::string_view(#effect_) == "test"       ? CallApi::Bit::test       \
                        : std::string_view(#effect_) == "test_set"   ? CallApi::Bit::test_set   \
                                                                     : CallApi::Bit::test_clear; \
  t.rows.push_back({"bit", #name_, "bit operation (" #effect_ "): a branch fact"});
#include "scan/api.def"
    for (auto& [name, l] : t.locks) t.calls[name].lock = &l;
    return t;
  }();
  return tbl;
}

}  // namespace

const CallApi* lookup_call(std::string_view name) {
  const auto& c = tables().calls;
  auto it = c.find(name);
  return it == c.end() ? nullptr : &it->second;
}

const FieldApi* lookup_field(std::string_view record, std::string_view field) {
  const auto& f = tables().fields;
  auto it = f.find(std::string(record) + "::" + std::string(field));
  if (it == f.end()) it = f.find(std::string(record) + "::*");
  return it == f.end() ? nullptr : &it->second;
}

std::string_view lookup_guard(std::string_view guard) {
  const auto& g = tables().guards;
  auto it = g.find(guard);
  return it == g.end() ? std::string_view() : std::string_view(it->second);
}

std::string api_markdown() {
  static const std::pair<const char*, const char*> sections[] = {
      {"lock", "Locks (acquire / release)"}, {"irq", "Interrupt state"},
      {"sleep", "May sleep"}, {"wait", "Waits for a callback"},
      {"queue", "Work items queued on workqueues (a wait for the queue waits for them)"},
      {"entry", "Context entry points (registration calls)"},
      {"field", "Context entry points (function pointers stored in fields)"},
      {"called", "How the kernel calls ops-struct methods (context, interrupts, lock held)"},
      {"bit", "Bit flags (branch facts carried into callees)"},
      {"guard", "Scoped guards"}};
  std::string out;
  for (const auto& [kind, title] : sections) {
    out += "#### " + std::string(title) + "\n\n| name | meaning |\n| --- | --- |\n";
    for (const auto& r : tables().rows)
      if (r.kind == kind) out += "| `" + r.name + "` | " + r.what + " |\n";
    out += "\n";
  }
  return out;
}

std::vector<std::string> api_names() {
  std::vector<std::string> v;
  for (const auto& r : tables().rows) v.push_back(r.name);
  return v;
}

const char* run_context_name(RunContext c) {
  switch (c) {
    case RunContext::process: return "process";
    case RunContext::hardirq: return "hardirq";
    case RunContext::softirq: return "softirq";
    case RunContext::signal: return "signal";
  }
  return "?";
}

}  // namespace lockhound::scan
