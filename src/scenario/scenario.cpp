#include "scenario/scenario.h"

#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

namespace lockhound {
namespace {

enum class Op {
  acquire, release, irq_disable, irq_enable, irq_save, irq_restore, irq_enter, irq_exit,
  might_sleep, destroy, init, exit, return_to_user, function,
};

// How an acquire/release verb touches the interrupt state around the lock.
enum class IrqMode { none, irq, irqsave, bh };

struct Verb {
  Op op = Op::acquire;
  Mode mode = Mode::write;
  bool trylock = false;
  IrqMode irq = IrqMode::none;
  bool nested = false;                        // second argument is a subclass
  bool nest_lock = false;                     // second argument is the nest lock
  const char* implicit_lock = nullptr;        // rcu_read_lock: a lock with no argument
  bool read_in_irq_recursive = false;         // kernel read_lock(): recursive only in irq
};

using VerbTable = std::unordered_map<std::string, Verb>;

Verb mk(Op op, Mode mode = Mode::write, bool trylock = false) {
  Verb v;
  v.op = op;
  v.mode = mode;
  v.trylock = trylock;
  return v;
}

void add_lock_family(VerbTable& t, const std::string& lock, const std::string& unlock, Mode mode,
                     bool read_irq_rec = false) {
  auto acq = [&](IrqMode irq) {
    Verb v = mk(Op::acquire, mode);
    v.irq = irq;
    v.read_in_irq_recursive = read_irq_rec;
    return v;
  };
  auto rel = [&](IrqMode irq) {
    Verb v = mk(Op::release, mode);
    v.irq = irq;
    return v;
  };
  t[lock] = acq(IrqMode::none);
  t[lock + "_irq"] = acq(IrqMode::irq);
  t[lock + "_irqsave"] = acq(IrqMode::irqsave);
  t[lock + "_bh"] = acq(IrqMode::bh);
  Verb nested = acq(IrqMode::none);
  nested.nested = true;
  t[lock + "_nested"] = nested;
  Verb irqsave_nested = acq(IrqMode::irqsave);
  irqsave_nested.nested = true;
  t[lock + "_irqsave_nested"] = irqsave_nested;
  Verb nest = acq(IrqMode::none);
  nest.nest_lock = true;
  t[lock + "_nest_lock"] = nest;
  Verb tr = acq(IrqMode::none);
  tr.trylock = true;
  std::string base = lock;
  auto pos = base.find("_lock");
  std::string tryname = pos == std::string::npos ? base + "_trylock" : base.substr(0, pos) + "_trylock";
  t[tryname] = tr;
  Verb tr_irqsave = tr;
  tr_irqsave.irq = IrqMode::irqsave;
  t[tryname + "_irqsave"] = tr_irqsave;
  t[unlock] = rel(IrqMode::none);
  t[unlock + "_irq"] = rel(IrqMode::irq);
  t[unlock + "_irqrestore"] = rel(IrqMode::irqsave);
  t[unlock + "_bh"] = rel(IrqMode::bh);
}

const VerbTable& verbs() {
  static const VerbTable table = [] {
    VerbTable t;
    add_lock_family(t, "spin_lock", "spin_unlock", Mode::write);
    add_lock_family(t, "raw_spin_lock", "raw_spin_unlock", Mode::write);
    add_lock_family(t, "write_lock", "write_unlock", Mode::write);
    add_lock_family(t, "read_lock", "read_unlock", Mode::read, true);
    t["read_trylock"] = mk(Op::acquire, Mode::read, true);
    t["write_trylock"] = mk(Op::acquire, Mode::write, true);
    for (const char* v : {"mutex_lock", "mutex_lock_interruptible", "mutex_lock_killable", "down",
                          "down_interruptible", "down_killable", "down_write", "down_write_killable",
                          "pthread_mutex_lock", "pthread_mutex_timedlock", "pthread_rwlock_wrlock",
                          "pthread_spin_lock", "mtx_lock", "lock"})
      t[v] = mk(Op::acquire, Mode::write);
    for (const char* v : {"down_read", "down_read_killable", "down_read_interruptible",
                          "pthread_rwlock_rdlock", "rlock"})
      t[v] = mk(Op::acquire, Mode::read);
    for (const char* v : {"mutex_lock_nested", "down_write_nested"}) {
      Verb n = mk(Op::acquire, Mode::write);
      n.nested = true;
      t[v] = n;
    }
    Verb drn = mk(Op::acquire, Mode::read);
    drn.nested = true;
    t["down_read_nested"] = drn;
    Verb mnl = mk(Op::acquire, Mode::write);
    mnl.nest_lock = true;
    t["mutex_lock_nest_lock"] = mnl;
    for (const char* v : {"mutex_trylock", "down_trylock", "down_write_trylock", "pthread_mutex_trylock",
                          "pthread_rwlock_trywrlock", "pthread_spin_trylock", "mtx_trylock", "trylock"})
      t[v] = mk(Op::acquire, Mode::write, true);
    for (const char* v : {"down_read_trylock", "pthread_rwlock_tryrdlock"})
      t[v] = mk(Op::acquire, Mode::read, true);
    Verb rcu = mk(Op::acquire, Mode::recursive_read);
    rcu.implicit_lock = "rcu_read_lock";
    t["rcu_read_lock"] = rcu;
    Verb rcu_un = mk(Op::release);
    rcu_un.implicit_lock = "rcu_read_lock";
    t["rcu_read_unlock"] = rcu_un;
    for (const char* v : {"mutex_unlock", "up", "up_read", "up_write", "pthread_mutex_unlock",
                          "pthread_rwlock_unlock", "pthread_spin_unlock", "mtx_unlock", "unlock"})
      t[v] = mk(Op::release);
    t["local_irq_disable"] = mk(Op::irq_disable);
    t["local_irq_enable"] = mk(Op::irq_enable);
    t["local_irq_save"] = mk(Op::irq_save);
    t["local_irq_restore"] = mk(Op::irq_restore);
    Verb bh_off = mk(Op::irq_disable);
    bh_off.irq = IrqMode::bh;
    t["local_bh_disable"] = bh_off;
    Verb bh_on = mk(Op::irq_enable);
    bh_on.irq = IrqMode::bh;
    t["local_bh_enable"] = bh_on;
    t["irq_disable"] = mk(Op::irq_disable);
    t["irq_enable"] = mk(Op::irq_enable);
    t["irq_enter"] = mk(Op::irq_enter);
    t["irq_exit"] = mk(Op::irq_exit);
    for (const char* v : {"might_sleep", "msleep", "ssleep", "usleep_range", "schedule", "sleep",
                          "usleep", "nanosleep", "wait_for_completion", "copy_from_user",
                          "copy_to_user", "synchronize_rcu", "flush_work", "cond_resched"})
      t[v] = mk(Op::might_sleep);
    t["kmalloc"] = mk(Op::might_sleep);  // only with GFP_KERNEL, see below
    t["kzalloc"] = mk(Op::might_sleep);
    for (const char* v : {"destroy", "mutex_destroy", "pthread_mutex_destroy", "pthread_rwlock_destroy",
                          "pthread_spin_destroy", "kfree_lock"})
      t[v] = mk(Op::destroy);
    for (const char* v : {"init", "spin_lock_init", "mutex_init", "rwlock_init", "init_rwsem",
                          "pthread_mutex_init", "pthread_rwlock_init", "pthread_spin_init"})
      t[v] = mk(Op::init);
    for (const char* v : {"exit", "pthread_exit", "do_exit"}) t[v] = mk(Op::exit);
    t["return_to_user"] = mk(Op::return_to_user);
    t["function"] = mk(Op::function);
    t["in"] = mk(Op::function);
    return t;
  }();
  return table;
}

std::optional<Irq> irq_from(std::string_view s) {
  if (s == "hardirq" || s == "irq" || s == "HARDIRQ") return Irq::hardirq;
  if (s == "softirq" || s == "bh" || s == "SOFTIRQ") return Irq::softirq;
  if (s == "signal" || s == "sig" || s == "SIGNAL") return Irq::signal;
  return std::nullopt;
}

std::optional<LockKind> decl_kind(std::string_view w) {
  static const std::map<std::string, LockKind, std::less<>> kinds = {
      {"spinlock", LockKind::spinlock},           {"spinlock_t", LockKind::spinlock},
      {"DEFINE_SPINLOCK", LockKind::spinlock},    {"raw_spinlock", LockKind::raw_spinlock},
      {"raw_spinlock_t", LockKind::raw_spinlock}, {"DEFINE_RAW_SPINLOCK", LockKind::raw_spinlock},
      {"rwlock", LockKind::rwlock},               {"rwlock_t", LockKind::rwlock},
      {"DEFINE_RWLOCK", LockKind::rwlock},        {"mutex", LockKind::mutex},
      {"DEFINE_MUTEX", LockKind::mutex},          {"rwsem", LockKind::rw_semaphore},
      {"rw_semaphore", LockKind::rw_semaphore},   {"DECLARE_RWSEM", LockKind::rw_semaphore},
      {"semaphore", LockKind::semaphore},         {"DEFINE_SEMAPHORE", LockKind::semaphore},
      {"pthread_mutex", LockKind::pthread_mutex}, {"pthread_mutex_t", LockKind::pthread_mutex},
      {"pthread_rwlock", LockKind::pthread_rwlock}, {"pthread_rwlock_t", LockKind::pthread_rwlock},
      {"pthread_spinlock", LockKind::pthread_spinlock}, {"pthread_spinlock_t", LockKind::pthread_spinlock},
      {"mtx_t", LockKind::pthread_mutex},         {"lockclass", LockKind::other},
      {"rcu", LockKind::rcu},
  };
  auto it = kinds.find(w);
  if (it == kinds.end()) return std::nullopt;
  return it->second;
}

bool is_context_keyword(std::string_view w) {
  return w == "thread" || w == "task" || w == "cpu" || w == "context" || w == "process";
}

std::vector<std::string> tokenize(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(std::move(cur));
    cur.clear();
  };
  for (char c : line) {
    if (c == ' ' || c == '\t' || c == '(' || c == ')' || c == ',' || c == ';' || c == '&' || c == '\r' ||
        c == '{' || c == '}')
      flush();
    else
      cur += c;
  }
  flush();
  return out;
}

std::string_view strip_comment(std::string_view line) {
  size_t cut = line.size();
  size_t h = line.find('#');
  if (h != std::string_view::npos) cut = std::min(cut, h);
  size_t s = line.find("//");
  if (s != std::string_view::npos) cut = std::min(cut, s);
  size_t c = line.find("/*");
  if (c != std::string_view::npos) cut = std::min(cut, c);
  return line.substr(0, cut);
}

class Runner {
 public:
  Runner(std::string_view file, ValidatorOptions opt) : file_(file), v_(std::move(opt)) {}

  void line(size_t no, std::string_view raw) {
    line_no_ = no;
    std::string_view text = strip_comment(raw);
    // A context header: "thread T1:", "thread T1 in bad_function:", "cpu CPU0:".
    std::string t(text);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) t.pop_back();
    auto toks = tokenize(t);
    if (toks.empty()) return;
    if (is_context_keyword(toks[0]) && !t.empty() && t.back() == ':') {
      header(toks);
      return;
    }
    if (toks[0] == "static" || toks[0] == "struct") toks.erase(toks.begin());
    // "buf = kmalloc(...)", "ret = mutex_lock_interruptible(&m)": the call is what matters.
    if (toks.size() >= 3 && toks[1] == "=") toks.erase(toks.begin(), toks.begin() + 2);
    if (toks.empty()) return;
    if (auto kind = decl_kind(toks[0])) {
      declare(*kind, toks);
      return;
    }
    if (toks[0] == "instance") {
      instance(toks);
      return;
    }
    statement(toks);
  }


  const Validator& validator() const { return v_; }

  ScenarioResult result() {
    ScenarioResult r;
    r.findings = v_.findings();
    // Where in the file each problem shows: the statement that completed it (the closing edge of
    // a cycle, the decisive acquisition of anything else).
    for (auto& f : r.findings) {
      const Stack* s = nullptr;
      if (!f.chain.empty()) s = &f.chain.back().to_site.stack;
      else if (!f.acquisitions.empty()) s = &f.acquisitions.back().stack;
      else if (!f.participants.empty()) s = &f.participants.front().stack;
      if (s && !s->empty() && s->front().line) f.location = std::string(file_) + ":" + std::to_string(s->front().line);
    }
    r.diagnostics = std::move(diags_);
    r.stats = v_.stats();
    r.statements = statements_;
    return r;
  }

 private:
  struct Ctx {
    Context ctx = nullptr;
    std::string function;
    std::vector<bool> saved;                      // local_irq_save stack
    std::map<std::string, bool> irqsave_by_lock;  // spin_lock_irqsave saved state per lock
  };
  struct Lock {
    uint64_t addr;
    ClassId cls;
    LockKind kind;
    size_t destroyed_at = 0;  // the line of its destroy, until an init makes it live again
  };

  void error(std::string msg) { diags_.push_back(Diagnostic{std::string(file_), line_no_, std::move(msg), true}); }

  void header(const std::vector<std::string>& toks) {
    if (toks.size() < 2) {
      error("expected a context name after '" + toks[0] + "', e.g. 'thread T1:'");
      return;
    }
    std::string name = toks[1];
    if (!name.empty() && name.back() == ':') name.pop_back();
    if (name.empty()) {
      error("expected a context name after '" + toks[0] + "'");
      return;
    }
    auto [it, fresh] = contexts_.try_emplace(name);
    if (fresh) it->second.ctx = v_.context(++next_ctx_id_, name);
    ctx_ = &it->second;
    ctx_name_ = name;
    if (toks.size() >= 4 && toks[2] == "in") {
      std::string fn = toks[3];
      if (!fn.empty() && fn.back() == ':') fn.pop_back();
      ctx_->function = fn;
    } else if (toks.size() > 2 && toks[2] != ":") {
      error("unexpected '" + toks[2] + "' in context header; expected '" + toks[0] + " NAME:' or '" +
            toks[0] + " NAME in FUNCTION:'");
    }
  }

  void declare(LockKind kind, const std::vector<std::string>& toks) {
    if (toks.size() < 2) {
      error("expected lock names after '" + toks[0] + "', e.g. '" + toks[0] + " lock1, lock2'");
      return;
    }
    for (size_t i = 1; i < toks.size(); ++i) {
      const std::string& name = toks[i];
      if (name == "=" || name.rfind("__", 0) == 0 || name.find("INITIALIZER") != std::string::npos) break;
      if (locks_.count(name)) {
        error("lock '" + name + "' is declared twice");
        continue;
      }
      ClassId cls = v_.lock_class(name, kind);
      uint64_t addr = next_addr_++;
      v_.lock_init(addr, cls);
      locks_[name] = Lock{addr, cls, kind};
    }
  }

  void instance(const std::vector<std::string>& toks) {
    if (toks.size() != 4 || toks[2] != "of") {
      error("expected 'instance NAME of LOCK'");
      return;
    }
    auto base = locks_.find(toks[3]);
    if (base == locks_.end()) {
      error("unknown lock '" + toks[3] + "' in 'instance … of'; declare it first");
      return;
    }
    if (locks_.count(toks[1])) {
      error("lock '" + toks[1] + "' is declared twice");
      return;
    }
    uint64_t addr = next_addr_++;
    v_.lock_init(addr, base->second.cls);
    locks_[toks[1]] = Lock{addr, base->second.cls, base->second.kind};
  }

  Site site(Ctx& c) {
    Frame f;
    f.function = c.function.empty() ? ctx_name_ : c.function;
    f.file = std::string(file_);
    f.line = unsigned(line_no_);
    Frame fs[1] = {f};
    return Site{line_no_, v_.intern_stack(fs)};
  }

  Lock* lock_arg(const std::vector<std::string>& toks, size_t i, const std::string& verb, bool must_be_live = true) {
    if (i >= toks.size()) {
      error("expected a lock name after '" + verb + "'");
      return nullptr;
    }
    auto it = locks_.find(toks[i]);
    if (it == locks_.end()) {
      error("unknown lock '" + toks[i] + "'; declare it first, e.g. 'spinlock " + toks[i] + "'");
      return nullptr;
    }
    if (must_be_live && it->second.destroyed_at) {
      error("lock '" + toks[i] + "' was destroyed at line " + std::to_string(it->second.destroyed_at) +
            " and not initialised again; expected 'init " + toks[i] + "' before '" + verb + "'");
      return nullptr;
    }
    return &it->second;
  }

  std::optional<Irq> irq_arg(const std::vector<std::string>& toks, size_t i, const Verb& v) {
    if (v.irq == IrqMode::bh) return Irq::softirq;
    if (i >= toks.size()) return Irq::hardirq;
    auto k = irq_from(toks[i]);
    if (!k) error("expected hardirq, softirq or signal after '" + toks[0] + "', got '" + toks[i] + "'");
    return k;
  }

  void statement(const std::vector<std::string>& toks) {
    const auto& table = verbs();
    auto vit = table.find(toks[0]);
    if (vit == table.end()) {
      if (toks.size() >= 2 && is_context_keyword(toks[0]))
        error("context header must end with ':', e.g. '" + toks[0] + " " + toks[1] + ":'");
      else
        error("unknown statement '" + toks[0] +
              "'; expected a lock verb (lock, unlock, spin_lock, mutex_lock, …), irq_enter, "
              "irq_disable, might_sleep, destroy, exit, or a declaration (spinlock NAME)");
      return;
    }
    if (!ctx_) {
      error("statement '" + toks[0] + "' outside a context; start one with 'thread NAME:'");
      return;
    }
    const Verb& v = vit->second;
    Ctx& c = *ctx_;
    ++statements_;
    switch (v.op) {
      case Op::function:
        if (toks.size() < 2) error("expected a function name after '" + toks[0] + "'");
        else c.function = toks[1];
        return;
      case Op::acquire: {
        Lock* l = nullptr;
        size_t arg = 1;
        if (v.implicit_lock) {
          l = implicit(v.implicit_lock, LockKind::rcu);
        } else {
          l = lock_arg(toks, arg, toks[0]);
        }
        if (!l) return;
        AcquireFlags fl;
        fl.mode = v.mode;
        if (v.read_in_irq_recursive && (v_.in_irq(c.ctx, Irq::hardirq) || v_.in_irq(c.ctx, Irq::softirq)))
          fl.mode = Mode::recursive_read;
        fl.trylock = v.trylock;
        // Generic options: lock X read | rread | try | nested N | nest_lock Y
        for (size_t i = 2; i < toks.size(); ++i) {
          const std::string& o = toks[i];
          if (o == "read") fl.mode = Mode::read;
          else if (o == "rread" || o == "recursive_read") fl.mode = Mode::recursive_read;
          else if (o == "try") fl.trylock = true;
          else if (o == "nested" && i + 1 < toks.size()) fl.subclass = subclass(toks[++i]);
          else if (o == "nest_lock" && i + 1 < toks.size()) {
            if (Lock* n = lock_arg(toks, ++i, "nest_lock")) fl.nest_lock = n->addr;
          } else if (v.irq == IrqMode::irqsave && i == 2) {
            // the flags variable of spin_lock_irqsave(&l, flags)
          } else if (v.nested && i == (v.irq == IrqMode::irqsave ? 3u : 2u)) {
            fl.subclass = subclass(o);  // spin_lock_nested(&l, N), spin_lock_irqsave_nested(&l, f, N)
          } else if (v.nest_lock && i == 2) {
            if (Lock* n = lock_arg(toks, i, toks[0])) fl.nest_lock = n->addr;
          } else {
            error("unexpected '" + o + "' after '" + toks[0] + " " + toks[1] +
                  "'; options are read, rread, try, nested N, nest_lock LOCK");
          }
        }
        Site s = site(c);
        if (v.irq == IrqMode::irq) v_.irq_disable(c.ctx, Irq::hardirq);
        if (v.irq == IrqMode::irqsave) {
          c.irqsave_by_lock[toks[1]] = v_.irq_enabled(c.ctx, Irq::hardirq);
          v_.irq_disable(c.ctx, Irq::hardirq);
        }
        if (v.irq == IrqMode::bh) v_.irq_disable(c.ctx, Irq::softirq);
        v_.acquire(c.ctx, l->addr, fl, s);
        return;
      }
      case Op::release: {
        Lock* l = v.implicit_lock ? implicit(v.implicit_lock, LockKind::rcu) : lock_arg(toks, 1, toks[0]);
        if (!l) return;
        v_.release(c.ctx, l->addr, site(c));
        if (v.irq == IrqMode::irq) v_.irq_enable(c.ctx, Irq::hardirq);
        if (v.irq == IrqMode::bh) v_.irq_enable(c.ctx, Irq::softirq);
        if (v.irq == IrqMode::irqsave) {
          auto it = c.irqsave_by_lock.find(toks[1]);
          bool restore = it == c.irqsave_by_lock.end() ? true : it->second;
          if (it != c.irqsave_by_lock.end()) c.irqsave_by_lock.erase(it);
          if (restore) v_.irq_enable(c.ctx, Irq::hardirq);
        }
        return;
      }
      case Op::irq_disable:
      case Op::irq_enable: {
        auto k = irq_arg(toks, 1, v);
        if (!k) return;
        if (v.op == Op::irq_disable) v_.irq_disable(c.ctx, *k);
        else v_.irq_enable(c.ctx, *k);
        return;
      }
      case Op::irq_save:
        c.saved.push_back(v_.irq_enabled(c.ctx, Irq::hardirq));
        v_.irq_disable(c.ctx, Irq::hardirq);
        return;
      case Op::irq_restore:
        if (c.saved.empty()) {
          error("local_irq_restore without a matching local_irq_save");
          return;
        }
        if (c.saved.back()) v_.irq_enable(c.ctx, Irq::hardirq);
        c.saved.pop_back();
        return;
      case Op::irq_enter:
      case Op::irq_exit: {
        if (toks.size() < 2) {
          error("expected hardirq, softirq or signal after '" + toks[0] + "'");
          return;
        }
        auto k = irq_from(toks[1]);
        if (!k) {
          error("expected hardirq, softirq or signal after '" + toks[0] + "', got '" + toks[1] + "'");
          return;
        }
        if (v.op == Op::irq_enter) {
          v_.irq_enter(c.ctx, *k);
          if (toks.size() > 2) {
            handler_stack_.push_back(c.function);
            c.function = toks[2];
          } else {
            handler_stack_.push_back(c.function);
          }
        } else {
          if (!v_.in_irq(c.ctx, *k)) {
            error("'" + toks[0] + " " + toks[1] + "' without a matching irq_enter");
            return;
          }
          v_.irq_exit(c.ctx, *k);
          if (!handler_stack_.empty()) {
            c.function = handler_stack_.back();
            handler_stack_.pop_back();
          }
        }
        return;
      }
      case Op::might_sleep: {
        if ((toks[0] == "kmalloc" || toks[0] == "kzalloc")) {
          bool sleeps = false;
          for (const auto& t : toks)
            if (t.find("GFP_KERNEL") != std::string::npos) sleeps = true;
          if (!sleeps) return;
        }
        v_.might_sleep(c.ctx, site(c), toks[0]);
        return;
      }
      case Op::destroy: {
        Lock* l = lock_arg(toks, 1, toks[0], false);
        if (!l) return;
        v_.lock_destroy(c.ctx, l->addr, site(c));
        l->destroyed_at = line_no_;
        return;
      }
      case Op::init: {
        Lock* l = lock_arg(toks, 1, toks[0], false);
        if (!l) return;
        v_.lock_init(l->addr, l->cls);
        l->destroyed_at = 0;
        return;
      }
      case Op::exit: {
        v_.end_context(c.ctx, site(c));
        // The name can be used again for a new context.
        contexts_.erase(ctx_name_);
        ctx_ = nullptr;
        return;
      }
      case Op::return_to_user:
        v_.return_to_user(c.ctx, site(c));
        return;
    }
  }

  uint8_t subclass(const std::string& s) {
    if (s == "SINGLE_DEPTH_NESTING") return 1;
    unsigned n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size() || n > 7) {
      error("expected a subclass 0-7 (or SINGLE_DEPTH_NESTING), got '" + s + "'");
      return 0;
    }
    return uint8_t(n);
  }

  Lock* implicit(const char* name, LockKind kind) {
    auto it = locks_.find(name);
    if (it != locks_.end()) return &it->second;
    ClassId cls = v_.lock_class(name, kind);
    uint64_t addr = next_addr_++;
    v_.lock_init(addr, cls);
    return &(locks_[name] = Lock{addr, cls, kind});
  }

  std::string_view file_;
  Validator v_;
  std::map<std::string, Lock> locks_;
  std::map<std::string, Ctx> contexts_;
  Ctx* ctx_ = nullptr;
  std::string ctx_name_;
  std::vector<std::string> handler_stack_;
  std::vector<Diagnostic> diags_;
  size_t line_no_ = 0;
  size_t statements_ = 0;
  uint64_t next_addr_ = 0x1000;
  uint64_t next_ctx_id_ = 0;
};

}  // namespace

struct ScenarioChecker::Impl {
  std::string file;
  Runner runner;
  size_t no = 0;
  Impl(std::string f, ValidatorOptions o) : file(std::move(f)), runner(file, std::move(o)) {}
};

ScenarioChecker::ScenarioChecker(std::string filename, ValidatorOptions options) {
  options.show_addresses = false;
  impl_ = std::make_unique<Impl>(std::move(filename), std::move(options));
}
ScenarioChecker::~ScenarioChecker() = default;
void ScenarioChecker::line(std::string_view line) { impl_->runner.line(++impl_->no, line); }
ScenarioResult ScenarioChecker::finish() { return impl_->runner.result(); }
const Validator& ScenarioChecker::validator() const { return impl_->runner.validator(); }

ScenarioResult check_scenario(std::string_view text, std::string_view filename, ValidatorOptions options) {
  options.show_addresses = false;
  Runner r(filename, std::move(options));
  size_t no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    ++no;
    r.line(no, line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  // The end of the file is a snapshot, not the end of every context: a context still holding
  // locks is reported only where the scenario says it ends (`exit`) or returns to user space.
  return r.result();
}

}  // namespace lockhound
