// The locking API table of `lockhound scan` (rows in api.def), as lookups.
//
// lookup_call() answers "what does a call to NAME mean" for the extractor; api_markdown() renders
// every row for docs/scan.md and `lockhound scan --list-api`. Lookups are by exact name; the
// table is built once and never changes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"
#include "scan/facts.h"

namespace lockhound::scan {

struct LockApi {
  bool acquire = true;          // false: release
  LockKind kind = LockKind::other;
  Mode mode = Mode::write;
  bool read_irq_recursive = false;
  IrqEffect irq = IrqEffect::none;
  int lock_arg = 0;             // -1: function-style lock named `member`
  int extra_arg = -1;
  bool trylock = false;
  bool try_zero = false;        // trylock or interruptible: taken when it returned 0
  bool interruptible = false;   // blocks, but may give up (signal, timeout)
  bool nested = false;
  bool nest_lock = false;
  std::string_view member;
};

struct EntryApi {
  int callback_arg;
  int object_arg;
  RunContext context;
};

struct CallApi {
  const LockApi* lock = nullptr;
  IrqOp irq = IrqOp::none;
  bool sleeps = false;
  int gfp_arg = -1;             // sleeps only when this argument allows direct reclaim
  int wait_object_arg = -1;     // waits for the callback registered on this argument
  // Queues a work item (argument queue_work_arg) on a workqueue (argument queue_arg; -1: the
  // system workqueue); queue_work_arg < 0: not a queueing call.
  int queue_arg = -1, queue_work_arg = -1;
  std::vector<EntryApi> entries;  // registers callbacks
  enum class Bit : uint8_t { none, set, clear, test, test_set, test_clear } bit = Bit::none;
};

// How the kernel calls a function stored in a struct field: its context, the interrupts it has
// disabled and the lock it holds around the call.
struct FieldApi {
  RunContext context = RunContext::process;
  EntryIrq irqs = EntryIrq::on;
  // "" = none; a function-style lock's class ("rtnl_lock"); or "$N->FIELD": the FIELD lock of
  // the struct the callback's argument N points to (uart_ops::start_tx: "$0->lock").
  std::string_view held;
  LockKind held_kind = LockKind::other;
};

// nullptr when NAME is not in the table.
const CallApi* lookup_call(std::string_view name);
// How a function assigned to RECORD::FIELD ("work_struct", "func") is called, or nullptr. A row
// for RECORD::* covers every field of RECORD without a row of its own.
const FieldApi* lookup_field(std::string_view record, std::string_view field);
// guard(NAME) -> the lock API it takes ("spin_lock_irqsave"), or "".
std::string_view lookup_guard(std::string_view guard);
// Every row as Markdown tables.
std::string api_markdown();
// Every name in the table (for the docs test).
std::vector<std::string> api_names();

// ___GFP_DIRECT_RECLAIM in Linux 6.1 (include/linux/gfp_types.h). The extractor reads the
// macro's value from the TU when it is defined there and falls back to this.
inline constexpr uint64_t kGfpDirectReclaim = 0x400;

}  // namespace lockhound::scan
