// The stack memo (src/runtime/stack_memo.h) on stacks laid out by hand: a call path is known again
// only while every remembered return address is in its slot, the slots are found by looking up the
// stack from the call, and nothing at or above the stack's top is read.
#include "runtime/stack_memo.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace lockhound::runtime {
namespace {

uint64_t at(std::vector<uint64_t>& mem, size_t i) { return reinterpret_cast<uint64_t>(&mem[i]); }

// A stack of 256 words: the lock call returns to 0x1000 (its slot is word 99, so the caller's sp at
// the call is word 100), its caller returns to 0x2000 (word 104), then 0x3000 (word 120).
struct Layout {
  std::vector<uint64_t> mem = std::vector<uint64_t>(256, 0);
  uint64_t pcs[3] = {0x1000, 0x2000, 0x3000};
  Layout() {
    mem[99] = pcs[0];
    mem[104] = pcs[1];
    mem[120] = pcs[2];
    for (size_t i = 100; i < 104; ++i) mem[i] = 0x5555;  // the caller's locals
  }
  uint64_t sp() { return at(mem, 100); }
  std::unique_ptr<StackMemo> memo() { return std::make_unique<StackMemo>(at(mem, 0), at(mem, 0) + 256 * 8); }
};

TEST(StackMemo, AStackIsKnownAgainWhileEveryReturnAddressIsInItsSlot) {
  Layout l;
  auto m = l.memo();
  EXPECT_EQ(m->find(l.pcs[0], l.sp()), nullptr);  // nothing remembered yet
  StackMemo::Entry* e = m->record(l.pcs[0], l.sp(), l.pcs, 3, true);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n, 3u);
  EXPECT_TRUE(e->complete);
  EXPECT_EQ(e->off[1], (104u - 99u) * 8);
  EXPECT_EQ(e->off[2], (120u - 99u) * 8);
  e->stack = 7;
  StackMemo::Entry* again = m->find(l.pcs[0], l.sp());
  ASSERT_EQ(again, e);
  EXPECT_EQ(again->stack, 7u);
  l.mem[101] = 0x6666;  // a local changed: not a slot, still the same path
  EXPECT_EQ(m->find(l.pcs[0], l.sp()), e);
}

TEST(StackMemo, AnotherCallerAtTheSameDepthIsNotTheSameStack) {
  Layout l;
  auto m = l.memo();
  ASSERT_NE(m->record(l.pcs[0], l.sp(), l.pcs, 3, true), nullptr);
  l.mem[120] = 0x3100;  // the outermost frame returns elsewhere now
  EXPECT_EQ(m->find(l.pcs[0], l.sp()), nullptr);
  l.mem[120] = l.pcs[2];
  l.mem[104] = 0x2100;  // the middle one
  EXPECT_EQ(m->find(l.pcs[0], l.sp()), nullptr);
  l.mem[104] = l.pcs[1];
  EXPECT_NE(m->find(l.pcs[0], l.sp()), nullptr);
  EXPECT_EQ(m->find(l.pcs[0], l.sp() + 8), nullptr);  // another stack pointer
  EXPECT_EQ(m->find(l.pcs[0] + 1, l.sp()), nullptr);  // another call
}

TEST(StackMemo, AReturnAddressNotFoundEndsTheRememberedStack) {
  Layout l;
  auto m = l.memo();
  uint64_t pcs[4] = {l.pcs[0], l.pcs[1], 0x9999, l.pcs[2]};  // 0x9999 is nowhere on the stack
  StackMemo::Entry* e = m->record(l.pcs[0], l.sp(), pcs, 4, true);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n, 2u);
  EXPECT_FALSE(e->complete);  // the callers past it are not known
  // An unwind that stopped early is not the whole stack either.
  e = m->record(l.pcs[0], l.sp(), l.pcs, 3, false);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->complete);
}

TEST(StackMemo, ACallNotOnTheThreadsStackOrNotMadeFromSpIsNotRemembered) {
  Layout l;
  auto m = l.memo();
  std::vector<uint64_t> other(64, 0);
  other[31] = l.pcs[0];
  EXPECT_EQ(m->record(l.pcs[0], at(other, 32), l.pcs, 3, true), nullptr);  // another stack
  EXPECT_EQ(m->record(0x1234, l.sp(), l.pcs, 3, true), nullptr);         // pcs[0] is not the call
  uint64_t wrong[3] = {0x1234, l.pcs[1], l.pcs[2]};
  EXPECT_EQ(m->record(0x1234, l.sp(), wrong, 3, true), nullptr);  // 0x1234 is not at sp - 8
  EXPECT_EQ(m->record(l.pcs[0], l.sp() + 4, l.pcs, 3, true), nullptr);  // misaligned
}

TEST(StackMemo, TheSearchStopsAtTheTopOfTheStack) {
  // The stack's top is word 40 of this vector: the return address looked for lies at the top
  // (outside the stack), where the search must not see it.
  std::vector<uint64_t> mem(48, 0);
  mem[9] = 0x1000;
  mem[40] = 0x7777;
  StackMemo m(at(mem, 0), at(mem, 40));
  uint64_t pcs[2] = {0x1000, 0x7777};
  StackMemo::Entry* e = m.record(0x1000, at(mem, 10), pcs, 2, true);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n, 1u);
  mem[39] = 0x7777;  // the last word below the top is still searched
  e = m.record(0x1000, at(mem, 10), pcs, 2, true);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n, 2u);
  EXPECT_EQ(e->off[1], (39u - 9u) * 8);
  EXPECT_EQ(m.record(0x1000, at(mem, 41), pcs, 2, true), nullptr);  // a call above the top
}

TEST(StackMemo, FramesFartherApartThanTheLimitAreNotFollowed) {
  size_t words = StackMemo::kMaxFrameBytes / 8 + 64;
  std::vector<uint64_t> mem(words, 0);
  mem[9] = 0x1000;
  mem[words - 1] = 0x2000;  // more than kMaxFrameBytes above the call's slot
  StackMemo m(at(mem, 0), at(mem, 0) + words * 8);
  uint64_t pcs[2] = {0x1000, 0x2000};
  StackMemo::Entry* e = m.record(0x1000, at(mem, 10), pcs, 2, true);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n, 1u);
  EXPECT_FALSE(e->complete);
}

TEST(StackMemo, DeepStacksKeepTheirFirstFrames) {
  size_t frames = StackMemo::kFrames + 10;
  std::vector<uint64_t> mem(frames * 4 + 16, 0);
  std::vector<uint64_t> pcs(frames);
  for (size_t i = 0; i < frames; ++i) {
    pcs[i] = 0x1000 + i;
    mem[9 + i * 4] = pcs[i];
  }
  StackMemo m(at(mem, 0), at(mem, 0) + mem.size() * 8);
  StackMemo::Entry* e = m.record(pcs[0], at(mem, 10), pcs.data(), frames, true);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n, StackMemo::kFrames);
  EXPECT_FALSE(e->complete);
  EXPECT_EQ(m.find(pcs[0], at(mem, 10)), e);
  mem[9 + (StackMemo::kFrames - 1) * 4] = 0;  // the last remembered frame is checked too
  EXPECT_EQ(m.find(pcs[0], at(mem, 10)), nullptr);
}

}  // namespace
}  // namespace lockhound::runtime
