#include <gtest/gtest.h>

#include "core/waitfor.h"

namespace lockhound {
namespace {

TEST(WaitFor, TwoPartyCycle) {
  WaitForGraph g;
  g.add_owner(100, 1);
  g.add_owner(200, 2);
  g.add_wait(1, 200);
  g.add_wait(2, 100);
  auto cs = g.cycles();
  ASSERT_EQ(cs.size(), 1u);
  ASSERT_EQ(cs[0].size(), 2u);
  EXPECT_EQ(cs[0][0].party, 1u);
  EXPECT_EQ(cs[0][0].resource, 200u);
  EXPECT_EQ(cs[0][1].party, 2u);
  EXPECT_EQ(cs[0][1].resource, 100u);
}

TEST(WaitFor, ChainWithoutCycle) {
  WaitForGraph g;
  g.add_owner(100, 1);
  g.add_wait(2, 100);
  g.add_wait(3, 100);
  EXPECT_TRUE(g.cycles().empty());
  auto w = g.waits();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].owners, std::vector<uint64_t>{1});
}

TEST(WaitFor, SelfDeadlockAndSharedOwners) {
  WaitForGraph g;
  g.add_owner(5, 7);
  g.add_wait(7, 5);  // waits for a lock it owns
  g.add_owner(6, 8);
  g.add_owner(6, 9);  // two readers own 6
  g.add_wait(10, 6);
  g.add_owner(11, 10);
  g.add_wait(9, 11);  // 10 -> 6 -> {8, 9}; 9 -> 11 -> 10: a cycle through one of the owners
  auto cs = g.cycles();
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].size(), 1u);
  EXPECT_EQ(cs[1].size(), 2u);
}

TEST(WaitFor, ThreeCycleReportedOnce) {
  WaitForGraph g;
  for (uint64_t i = 1; i <= 3; ++i) {
    g.add_owner(100 + i, i);
    g.add_wait(i, 100 + (i % 3) + 1);
  }
  auto cs = g.cycles();
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].size(), 3u);
}

}  // namespace
}  // namespace lockhound
