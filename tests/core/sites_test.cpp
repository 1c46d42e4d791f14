// Sites: which frame of a stack is the user's code, and which library a frame belongs to.
#include <gtest/gtest.h>

#include "core/sites.h"

namespace lockhound {
namespace {

Frame user(std::string fn, std::string file, unsigned line) {
  Frame f;
  f.function = std::move(fn);
  f.file = std::move(file);
  f.line = line;
  f.object = "/srv/app/bin/server";
  f.pc = 0x1000;
  return f;
}

TEST(Sites, TheUsersFrameIsPastTheStandardLibrarysLockCalls) {
  Stack s = {user("__gthread_mutex_lock(pthread_mutex_t*)", "/usr/include/x86_64-linux-gnu/c++/12/bits/gthr-default.h", 749),
             user("std::mutex::lock()", "/usr/include/c++/12/bits/std_mutex.h", 100),
             user("std::lock_guard<std::mutex>::lock_guard(std::mutex&)", "/usr/include/c++/12/bits/std_mutex.h", 229),
             user("deposit()", "/srv/app/bank.cpp", 13),
             user("void std::__invoke_impl<void, void (*)()>(std::__invoke_other, void (*&&)())",
                  "/usr/include/c++/12/bits/invoke.h", 61)};
  const Frame* u = user_frame(s);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->function, "deposit()");
  EXPECT_EQ(site_of(s), "deposit() (/srv/app/bank.cpp:13)");
  EXPECT_TRUE(is_plumbing(s[4])) << "a template's return type comes first";
  EXPECT_EQ(library_of(s[0]), "libstdc++");
  EXPECT_EQ(library_of(s[3]), "");
  EXPECT_EQ(library_of(s[4]), "libstdc++");
}

// A program's own function that shares a name with a kernel lock routine is the program's code.
TEST(Sites, KernelNamesInAUserProgramAreTheUsersCode) {
  for (const char* fn : {"schedule()", "print_totals", "mutex_lock_all", "spin_lock_table", "flush_work_queue"}) {
    Frame f = user(fn, "/srv/app/jobs.c", 7);
    EXPECT_FALSE(is_plumbing(f)) << fn;
  }
  Frame kernel;
  kernel.function = "schedule";
  kernel.offset = "+0x5a/0xc0";
  EXPECT_TRUE(is_plumbing(kernel));
  kernel.function = "_raw_spin_lock";
  EXPECT_TRUE(is_plumbing(kernel));
  EXPECT_EQ(library_of(kernel), "");
}

TEST(Sites, LibrariesAreNamedByTheirObjects) {
  Frame f;
  f.pc = 0x7f0000001000;
  f.object = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30";
  EXPECT_EQ(library_of(f), "libstdc++");
  f.object = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  f.function = "start_thread";
  EXPECT_EQ(library_of(f), "libc");
  EXPECT_TRUE(is_plumbing(f));
  f.object = "/opt/lockhound/lib/liblockhound.so";
  EXPECT_EQ(library_of(f), "lockhound");
}

}  // namespace
}  // namespace lockhound
