// Usage bits: lockdep's record of how a lock class has been used with respect to interrupts, and
// a context's interrupt state, as numbers. One layout for the engine and for the runtime's fast
// path, which keeps a copy of a class's bits in each lock (its tag) and keys its memos on a
// thread's interrupt state.
//
// Per interrupt kind k (Irq: hardirq 0, softirq 1, signal 2) four bits, at 4k:
//   +0 USED_IN_k        taken in that interrupt context          (lockdep's LOCK_USED_IN_*)
//   +1 USED_IN_k_READ   the same, for reading
//   +2 ENABLED_k        taken with that interrupt enabled         (LOCK_ENABLED_*)
//   +3 ENABLED_k_READ   the same, for reading
// READ is bit 0 of a pair and the direction bit 1, as in lockdep, so a bit's opposite is bit ^ 2.
#pragma once

#include <cstdint>

#include "core/types.h"

namespace lockhound::usage {

inline constexpr unsigned kBitsPerIrq = 4;
inline constexpr unsigned kReadBit = 1, kDirBit = 2;
inline constexpr unsigned kBits = kBitsPerIrq * kIrqKinds;  // 12
inline constexpr uint32_t kAll = (1u << kBits) - 1;

constexpr unsigned bit(Irq k, bool enabled, bool read) {
  return unsigned(k) * kBitsPerIrq + (enabled ? kDirBit : 0) + (read ? kReadBit : 0);
}
constexpr uint32_t mask(Irq k, bool enabled, bool read) { return 1u << bit(k, enabled, read); }

inline constexpr uint32_t kUsedInAll = 0x333;    // USED_IN and USED_IN_READ of every kind
inline constexpr uint32_t kEnabledAll = 0xccc;   // ENABLED and ENABLED_READ of every kind
inline constexpr uint32_t kReadBits = 0xaaa;     // the _READ bits
inline constexpr uint32_t kNonReadBits = ~kReadBits & kAll;
static_assert(kUsedInAll == (mask(Irq::hardirq, false, false) | mask(Irq::hardirq, false, true)) * 0x111);

// A context's interrupt state as one number: bits 0-2 which kinds are enabled (hardirq 1,
// softirq 2, signal 4), bits 8-10 which it runs in (softirq 1, hardirq 2, signal 4). Two contexts
// with the same number validate an acquisition alike (Validator::irq_state()).
inline constexpr uint8_t kEnabledHardirq = 1, kEnabledSoftirq = 2, kEnabledSignal = 4;
inline constexpr uint8_t kInSoftirq = 1, kInHardirq = 2, kInSignal = 4;
constexpr uint32_t irq_state(uint8_t in_mask, uint8_t enabled_mask) { return uint32_t(in_mask) << 8 | enabled_mask; }
// A thread outside any interrupt with everything enabled (a new context), and the same thread
// with signals blocked.
inline constexpr uint32_t kProcessState = irq_state(0, kEnabledHardirq | kEnabledSoftirq | kEnabledSignal);
inline constexpr uint32_t kProcessStateSignalsBlocked = irq_state(0, kEnabledHardirq | kEnabledSoftirq);

}  // namespace lockhound::usage
