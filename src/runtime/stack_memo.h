// The stacks of a thread's recent lock calls, remembered with the place of each return address,
// so that a lock call made again from the same call path is known without unwinding.
//
// A program with a lock per object takes its new lock orders from a handful of call paths, over
// and over, with new locks: every first sight of an order unwinds the stack (libunwind: about
// 1,300 instructions for a stack of five frames, more per frame), and the engine then finds the
// very stack it already has. The memo is keyed by the lock call's return address and the stack
// pointer of the caller at the call (the interposer's CFA). A call from the same place with the
// same stack pointer is on the same call path when every return address of the remembered stack
// is still in its slot: each frame's size is a function of its code address (rsp-based frames),
// so equal return addresses at equal slots, from the innermost frame out, are the same frames at
// the same places. (A frame of variable size, alloca or a VLA, that kept its return address in
// place while the frames around it moved would have to hold the old return addresses at all of
// the old slots above it too.) Only that thread reads its memo: the slots are in its own stack,
// read only below its top (`hi`), and only after every slot nearer `sp` matched, so every read is
// within the frames that are running.
//
// On a miss the stack is unwound as before (unw_backtrace, which gives no CFAs: libgcc's unwinder
// does, but it costs more than twice as much here) and the slots are found by looking for each
// return address upwards from the one before (at most kMaxFrameBytes apart; a stack whose return
// address is not found is remembered only up to the frame before).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lockhound::runtime {

class StackMemo {
 public:
  static constexpr size_t kFrames = 64;    // frames remembered per stack
  static constexpr size_t kEntries = 32;   // stacks remembered (direct-mapped by call and sp)
  static constexpr uint64_t kMaxFrameBytes = 64 * 1024;

  struct Entry {
    uint64_t ip = 0, sp = 0;  // the lock call: its return address, and its caller's stack pointer
    uint32_t n = 0;           // frames remembered: pcs[0] = ip (at sp - 8), then its callers
    bool complete = false;    // pcs holds the whole stack (the unwind ended before kFrames)
    uint32_t stack = 0;       // the interned stack of the first frames (the capture hook's; 0: not yet)
    // The held-stack hook's last answers on this stack, for a held lock's call at ip; by_frame:
    // the answer came from that call's frame (its sp and fp), else from ip alone.
    struct Held {
      uint64_t ip = 0, sp = 0, fp = 0;
      uint32_t stack = 0;
      bool by_frame = false;
    } held[2];
    uint32_t off[kFrames];  // slot of pcs[i]: sp - 8 + off[i]
    uint64_t pcs[kFrames];
  };

  // [lo, hi): the thread's stack. A call whose sp lies elsewhere (an alternate signal stack, a
  // coroutine's) is not remembered, and no slot is read at or above hi.
  StackMemo(uint64_t lo, uint64_t hi) : lo_(lo), hi_(hi) {}

  bool covers(uint64_t sp) const { return sp >= lo_ + 8 && sp <= hi_; }

  // The entry of the call (ip, sp) if its stack is still the one remembered; else null.
  Entry* find(uint64_t ip, uint64_t sp) {
    Entry& e = entries_[slot(ip, sp)];
    if (e.ip != ip || e.sp != sp || e.n == 0) return nullptr;
    for (uint32_t i = 0; i < e.n; ++i)
      if (read(sp - 8 + e.off[i]) != e.pcs[i]) return nullptr;
    return &e;
  }

  // Remembers the stack `pcs[0..n)` of the call (ip, sp), pcs[0] being ip; complete: the unwind
  // ended there. Null when the call's return address is not where the call left it (a wrapper's
  // frame, another stack), or sp lies outside the thread's stack.
  Entry* record(uint64_t ip, uint64_t sp, const uint64_t* pcs, size_t n, bool complete) {
    if (n == 0 || pcs[0] != ip || (sp & 7) != 0 || !covers(sp) || read(sp - 8) != ip) return nullptr;
    Entry& e = entries_[slot(ip, sp)];
    e.ip = ip;
    e.sp = sp;
    e.stack = 0;
    e.held[0] = e.held[1] = Entry::Held{};
    e.off[0] = 0;
    e.pcs[0] = ip;
    uint32_t kept = 1;
    uint64_t at = sp - 8;
    for (size_t i = 1; i < n && kept < kFrames; ++i) {
      uint64_t found = 0;
      for (uint64_t a = at + 8; a + 8 <= hi_ && a - at <= kMaxFrameBytes; a += 8)
        if (read(a) == pcs[i]) {
          found = a;
          break;
        }
      if (!found) break;
      at = found;
      e.off[kept] = static_cast<uint32_t>(at - (sp - 8));
      e.pcs[kept++] = pcs[i];
    }
    e.n = kept;
    e.complete = complete && kept == n;
    return &e;
  }

 private:
  static size_t slot(uint64_t ip, uint64_t sp) {
    return static_cast<size_t>(((ip ^ (sp >> 3)) * 0x9E3779B97F4A7C15ull) >> 59) & (kEntries - 1);
  }
  // A word of the stack (8-aligned: sp is, and every slot is a multiple of 8 above sp - 8). Not
  // checked by ASan: in an instrumented program the frames around a slot have redzones.
  using Word = uint64_t __attribute__((may_alias));
  __attribute__((no_sanitize("address"))) static uint64_t read(uint64_t a) {
    return *reinterpret_cast<const volatile Word*>(a);
  }

  uint64_t lo_, hi_;
  Entry entries_[kEntries];
};
static_assert(StackMemo::kEntries == 32, "slot() takes the top 5 bits");

}  // namespace lockhound::runtime
