// Stack capture and symbolization of this test binary: functions, files, lines, inlined frames,
// C++ names, and static objects named by their symbols.
#include <pthread.h>

#include <gtest/gtest.h>

#include "symbolize/symbolize.h"

pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
struct Table {
  char pad[64];
  pthread_mutex_t m;
} table_with_lock;

namespace lockhound::symbolize {
namespace {

namespace deep {
struct Walker {
  __attribute__((noinline)) size_t walk(uint64_t* pcs, size_t max) {
    size_t n = capture_stack(pcs, max);
    asm volatile("" ::: "memory");  // keep the call from being a tail call
    return n;
  }
};
}  // namespace deep

TEST(Symbolize, CapturesAndNamesFrames) {
  uint64_t pcs[32];
  deep::Walker w;
  size_t n = w.walk(pcs, 32);
  ASSERT_GE(n, 2u);
  Symbolizer s;
  const auto& first = s.frames(pcs[0]);
  ASSERT_FALSE(first.empty());
  EXPECT_NE(first.back().function.find("deep::Walker::walk"), std::string::npos)
      << first.back().function;
  EXPECT_NE(first.back().file.find("symbolize_test.cpp"), std::string::npos) << first.back().file;
  EXPECT_GT(first.back().line, 0u);
  const auto& second = s.frames(pcs[1]);
  EXPECT_NE(second.back().function.find("CapturesAndNamesFrames"), std::string::npos)
      << second.back().function;
  std::string desc = s.describe_code(pcs[0]);
  EXPECT_NE(desc.find("symbolize_test.cpp:"), std::string::npos) << desc;
}

TEST(Symbolize, NamesStaticObjects) {
  Symbolizer s;
  std::string name;
  ASSERT_TRUE(s.describe_data(reinterpret_cast<uint64_t>(&ledger_lock), name));
  EXPECT_EQ(name, "ledger_lock");
  ASSERT_TRUE(s.describe_data(reinterpret_cast<uint64_t>(&table_with_lock.m), name));
  EXPECT_EQ(name, "table_with_lock+0x40");
  int on_stack = 0;
  EXPECT_FALSE(s.describe_data(reinterpret_cast<uint64_t>(&on_stack), name));
  auto heap = std::make_unique<int>(1);
  EXPECT_FALSE(s.describe_data(reinterpret_cast<uint64_t>(heap.get()), name));
}

TEST(Symbolize, Demangles) {
  EXPECT_EQ(demangle("_ZN3foo3barEv"), "foo::bar()");
  EXPECT_EQ(demangle("plain_c"), "plain_c");
  EXPECT_EQ(demangle("__libc_start_main@@GLIBC_2.34"), "__libc_start_main");
}

TEST(Symbolize, FillKeepsKnownFields) {
  uint64_t pcs[4];
  size_t n = capture_stack(pcs, 4);
  ASSERT_GE(n, 1u);
  Stack st(1);
  st[0].pc = pcs[0];
  st.push_back(Frame{});
  st[1].function = "already_known";
  Symbolizer s;
  s.fill(st);
  ASSERT_GE(st.size(), 2u);
  EXPECT_NE(st[0].function.find("FillKeepsKnownFields"), std::string::npos) << st[0].function;
  EXPECT_EQ(st.back().function, "already_known");
}

}  // namespace
}  // namespace lockhound::symbolize
