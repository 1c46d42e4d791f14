// Per-translation-unit facts of `lockhound scan`: what one parse of a C file establishes, with
// no clang type in sight, so it can be cached on disk and analysed without re-parsing.
//
// A TU's facts are its functions reduced to what locking needs: each function's control-flow
// graph (clang::CFG) with only the lock-relevant operations kept in each block (acquire, release,
// interrupt-state changes, sleeping calls, waits for callbacks, calls, returns, assignments that
// kill a branch condition), the branch conditions that correlation and trylock results need, the
// callbacks the TU registers (request_irq, timer_setup, ops-struct initializers, ...) and the
// function pointers it stores in struct fields. The whole-program analysis (analyze.h) turns the
// facts of every TU into summaries and engine events.
//
// Everything here is plain data with value semantics; codec.h encodes and decodes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/types.h"

namespace lockhound::scan {

// Where a callback runs. Threaded irq handlers, work items, kthreads and ops-struct methods run in
// process context.
enum class RunContext : uint8_t { process = 0, hardirq = 1, softirq = 2, signal = 3 };
const char* run_context_name(RunContext c);

// How an operation changes the interrupt state (the lock API's _irq / _irqsave / _bh forms, and
// local_irq_* / local_bh_*).
enum class IrqEffect : uint8_t { none = 0, irq = 1, irqsave = 2, bh = 3 };
// The interrupt state a callback's caller guarantees on entry (snd_pcm_ops::trigger runs with
// hardirqs off, net_device_ops::ndo_start_xmit with softirqs off).
enum class EntryIrq : uint8_t { on = 0, hardirqs_off = 1, softirqs_off = 2 };
enum class IrqOp : uint8_t { none = 0, disable, enable, save, restore, bh_disable, bh_enable };

// A lock as an expression names it. `cls` is lockdep's class name ("struct my_dev::lock", the
// global's name, "console_lock"); empty when the lock is a pointer parameter, whose class the
// call site supplies. `inst` names the instance in the function's own terms: "$0->lock" for a
// field of parameter 0, "g:global_mutex", "v:port.port_lock", "?" when unknown.
struct LockRef {
  std::string cls;
  std::string inst;
  LockKind kind = LockKind::other;
  bool operator==(const LockRef&) const = default;
};

struct SrcLoc {
  uint32_t file = 0;  // index into TuFacts::files
  uint32_t line = 0;
  uint32_t col = 0;
  bool operator==(const SrcLoc&) const = default;
};

// An argument of a call, as far as locking needs it: the lock it names (for pointer parameters
// of the callee), the caller's parameter it passes on, or its constant value (GFP flags).
struct ArgFact {
  LockRef lock;                 // cls empty when the argument names no lock
  int32_t param = -1;           // the argument is the caller's parameter `param`
  bool has_value = false;
  uint64_t value = 0;
  bool operator==(const ArgFact&) const = default;
};

// queue: the work item whose callback is registered on `lock.cls` is queued on the workqueue
// object `what` (a wait for that object waits for the item too).
enum class OpKind : uint8_t { acquire = 0, release, irq, sleep, wait, call, ret, kill, assume, queue };

struct Op {
  OpKind kind = OpKind::call;
  SrcLoc loc;
  std::string api;              // the name called ("spin_lock_irqsave", "msleep", callee)
  // acquire / release
  LockRef lock;                 // wait: lock.cls = the callback object's class
  Mode mode = Mode::write;
  bool read_irq_recursive = false;  // kernel read_lock(): recursive-read inside interrupts
  bool trylock = false;
  bool try_zero = false;        // the trylock succeeded when it returned 0
  int32_t token = -1;           // trylock: the result as branch conditions name it
  IrqEffect irq = IrqEffect::none;
  uint8_t subclass = 0;
  LockRef nest;                 // _nest_lock: the outer lock (cls empty = none)
  uint32_t scope_end = 0;       // guard(): released when control passes this line (0 = never)
  // irq
  IrqOp irq_op = IrqOp::none;
  // sleep: `what` for the report; gfp_param >= 0: sleeps only if the caller's argument for this
  // parameter allows direct reclaim
  std::string what;
  int32_t gfp_param = -1;
  // call
  std::vector<std::string> targets;  // function keys; "field:struct R::f" for pointer calls
  std::vector<ArgFact> args;
  // kill: variables assigned here (branch facts naming them die)
  std::vector<std::string> vars;
  // assume: from here on the condition `what` (a branch key, e.g. "bit(3,&$0->flags)") has this
  // value (set_bit, clear_bit, test_and_set_bit, ...)
  bool fact_value = false;
  bool operator==(const Op&) const = default;
};

// A two-way branch: succ[0] is taken when the condition holds.
struct Cond {
  std::string key;              // canonical text of the condition, "" = not correlatable
  std::vector<std::string> vars;  // variables it reads
  bool negate = false;          // key is the negation of the condition (`!x`)
  int32_t token = -1;           // the condition tests this trylock result
  bool operator==(const Cond&) const = default;
};

// The branch fact that records which way a trylock's result (token N) was tested: a later test
// of the same result, however spelled, goes the same way.
inline std::string token_fact(int32_t token) { return "tok:" + std::to_string(token) + ";"; }

struct Block {
  std::vector<Op> ops;
  Cond cond;
  std::vector<int32_t> succ;    // -1: unreachable successor
  bool operator==(const Block&) const = default;
};

struct FunctionFacts {
  std::string key;              // unique program-wide: "name", or "file.c:name" when static
  std::string name;
  SrcLoc loc;
  uint32_t end_line = 0;
  bool file_scope = false;      // defined in the TU's main file (not a header inline)
  int32_t entry = 0;
  int32_t exit = 0;
  std::vector<Block> blocks;
  bool operator==(const FunctionFacts&) const = default;
};

// A callback registered to run in a context (request_irq, tasklet_init, an assignment to a
// work_struct's func, ...), or a function stored in an ops struct.
struct Registration {
  std::string fn;               // function key
  RunContext context = RunContext::process;
  std::string object;           // class of the object it is registered on ("struct foo::timer")
  std::string via;              // "tasklet_init", "ops struct vsock_transport"
  std::string registrar;        // function that registers it ("" at file scope)
  SrcLoc loc;
  EntryIrq irqs = EntryIrq::on; // interrupts its caller has disabled
  LockRef held;                 // a lock its caller holds (cls empty = none): uart_ops::start_tx
                                // runs under `struct uart_port::lock` ("$0->lock")
  bool operator==(const Registration&) const = default;
};

// A function stored in a struct field: what a call through that field may reach.
struct FieldBinding {
  std::string field;            // "struct vsock_transport::release"
  std::string fn;
  // The functions stored together: one initializer of an ops struct ("init:FILE:LINE:COL"), or
  // the assignments to one struct type's fields in one function ("asg:FN|struct R"). An object's
  // methods come from one such group, so a path that called one group's `acquire` through a
  // pointer calls the same group's `release` (analyze_flow: ops facts).
  std::string group;
  bool operator==(const FieldBinding&) const = default;
};

struct TuFacts {
  std::string main_file;
  std::vector<std::string> files;   // file names used by SrcLoc::file
  std::vector<FunctionFacts> functions;
  std::vector<Registration> registrations;
  std::vector<FieldBinding> bindings;
  bool operator==(const TuFacts&) const = default;
};

}  // namespace lockhound::scan
