// Options and suppressions of the runtime, and the launcher's helpers.
#include <gtest/gtest.h>

#include "runtime/launcher.h"
#include "runtime/options.h"

namespace lockhound::runtime {
namespace {

TEST(RuntimeOptions, ParsesEveryKey) {
  Options o;
  auto errors = parse_options(
      "log_path=/tmp/x:format=json:halt_on_error=1:exitcode=3:fail_on=hazards:stack_depth=8:watchdog_ms=250:"
      "spin_ms=10:watchdog_abort=1:suppressions=/s:default_suppressions=0:show_guarded=1:full_stacks=1:follow_children=0:summary=0:"
      "max_memory_mb=64:verbosity=1:fast_path=0",
      o);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(o.log_path, "/tmp/x");
  EXPECT_EQ(o.format, "json");
  EXPECT_TRUE(o.halt_on_error);
  EXPECT_EQ(o.exitcode, 3);
  EXPECT_EQ(o.fail_on, "hazards");
  EXPECT_EQ(o.stack_depth, 8);
  EXPECT_EQ(o.watchdog_ms, 250);
  EXPECT_EQ(o.spin_ms, 10);
  EXPECT_TRUE(o.watchdog_abort);
  EXPECT_EQ(o.suppressions, "/s");
  EXPECT_FALSE(o.default_suppressions);
  EXPECT_TRUE(o.show_guarded);
  EXPECT_TRUE(o.full_stacks);
  EXPECT_FALSE(o.follow_children);
  EXPECT_FALSE(o.summary);
  EXPECT_EQ(o.max_memory_mb, 64);
  EXPECT_EQ(o.verbosity, 1);
  EXPECT_FALSE(o.fast_path);
  EXPECT_EQ(option_keys().size(), 20u);
}

TEST(RuntimeOptions, BadInputKeepsDefaultsAndSaysWhy) {
  Options o;
  auto errors = parse_options("format=xml:exitcode=300:nosuch=1:halt_on_error:stack_depth=abc", o);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_NE(errors[0].find("format"), std::string::npos);
  EXPECT_NE(errors[2].find("unknown option 'nosuch'"), std::string::npos);
  EXPECT_NE(errors[3].find("needs a value"), std::string::npos);
  EXPECT_EQ(o.format, "text");
  EXPECT_EQ(o.exitcode, 66);
  EXPECT_EQ(o.stack_depth, 32);
  EXPECT_EQ(o.fail_on, "deadlocks");
  auto bad = parse_options("fail_on=warnings", o);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("bad value 'warnings' for option 'fail_on'"), std::string::npos) << bad[0];
}

TEST(RuntimeOptions, LaterKeysWin) {
  Options o;
  EXPECT_TRUE(parse_options(join_options("exitcode=5", "exitcode=7"), o).empty());
  EXPECT_EQ(o.exitcode, 7);
  EXPECT_EQ(join_options("", "a=1"), "a=1");
  EXPECT_EQ(join_options("a=1", ""), "a=1");
}

Finding sample() {
  Finding f;
  f.type = FindingType::circular_dependency;
  f.classes = {"ledger_lock", "audit_lock"};
  Edge e;
  Frame fr;
  fr.function = "vendor::transfer(int)";
  fr.file = "/src/third_party/vendor/bank.cc";
  fr.line = 12;
  e.to_site.stack = {fr};
  f.chain = {e};
  return f;
}

TEST(RuntimeSuppressions, MatchByClassFunctionFileType) {
  Finding f = sample();
  std::vector<std::string> errors;
  {
    Suppressions s;
    ASSERT_TRUE(s.parse("# comment\nclass:ledger_*\n", "supp", errors));
    EXPECT_EQ(s.match(f), "class:ledger_*");
  }
  {
    Suppressions s;
    ASSERT_TRUE(s.parse("function:vendor::*\n", "supp", errors));
    EXPECT_EQ(s.match(f), "function:vendor::*");
  }
  {
    Suppressions s;
    ASSERT_TRUE(s.parse("file:third_party\n", "supp", errors));  // plain word: substring
    EXPECT_FALSE(s.match(f).empty());
  }
  {
    Suppressions s;
    ASSERT_TRUE(s.parse("type:recursive_locking\nclass:other\nfunction:main\n", "supp", errors));
    EXPECT_TRUE(s.match(f).empty());
  }
  {
    Suppressions s;
    ASSERT_TRUE(s.parse("type:circular_*\n", "supp", errors));
    EXPECT_FALSE(s.match(f).empty());
  }
  EXPECT_TRUE(errors.empty());
}

TEST(RuntimeSuppressions, BadLinesNameFileAndLine) {
  Suppressions s;
  std::vector<std::string> errors;
  EXPECT_FALSE(s.parse("class:ok\n\nfunc:nope\nclass:\n", "my.supp", errors));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].rfind("my.supp:3: error:", 0), 0u) << errors[0];
  EXPECT_EQ(errors[1].rfind("my.supp:4: error:", 0), 0u) << errors[1];
  EXPECT_EQ(s.size(), 1u);
}

// What `java` ends with: HotSpot's VM thread leaves a PlatformMonitor held.
Finding vm_thread_ended_holding() {
  Finding f;
  f.type = FindingType::still_has_locks_held;
  f.classes = {"os::PlatformMonitor::PlatformMonitor (libjvm.so+0xc375d8) from Monitor::Monitor"};
  Acquisition a;
  a.context = "VM Thread (tid 4242)";
  f.acquisitions = {a};
  return f;
}

TEST(RuntimeSuppressions, ThreadKindAndConjunctions) {
  Finding f = vm_thread_ended_holding();
  std::vector<std::string> errors;
  {
    Suppressions s;
    ASSERT_TRUE(s.parse("thread:VM Thread\n", "supp", errors));
    EXPECT_FALSE(s.match(f).empty());
  }
  {
    // Every term of a line must match: one that does not keeps the finding.
    Suppressions s;
    ASSERT_TRUE(s.parse("type:still_has_locks_held && thread:worker*\n", "supp", errors));
    EXPECT_TRUE(s.match(f).empty());
    Suppressions t;
    ASSERT_TRUE(t.parse("type:still_has_locks_held && thread:VM*  &&class:os::*\n", "supp", errors));
    EXPECT_EQ(t.match(f), "type:still_has_locks_held && thread:VM*  &&class:os::*");
  }
  EXPECT_TRUE(errors.empty());
  {
    Suppressions s;
    EXPECT_FALSE(s.parse("type:still_has_locks_held && \n", "supp", errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].rfind("supp:1: error:", 0), 0u) << errors[0];
    EXPECT_EQ(s.size(), 0u);
  }
}

TEST(RuntimeSuppressions, BuiltInRulesParseAndStayNarrow) {
  Suppressions s;
  std::vector<std::string> errors;
  ASSERT_TRUE(s.parse(kDefaultSuppressions, "built-in", errors)) << errors[0];
  ASSERT_GE(s.size(), 1u);
  Finding f = vm_thread_ended_holding();
  EXPECT_FALSE(s.match(f).empty());
  // The same lock left held by any other thread, or another finding on it, is still reported.
  Finding other_thread = f;
  other_thread.acquisitions[0].context = "worker (tid 4243)";
  EXPECT_TRUE(s.match(other_thread).empty());
  Finding other_type = f;
  other_type.type = FindingType::circular_dependency;
  EXPECT_TRUE(s.match(other_type).empty());
  Finding other_class = f;
  other_class.classes = {"ledger_lock"};
  EXPECT_TRUE(s.match(other_class).empty());
}

TEST(RuntimeLauncher, InspectsPrograms) {
  auto sh = inspect_program("sh");
  EXPECT_TRUE(sh.found);
  EXPECT_TRUE(sh.elf);
  EXPECT_TRUE(sh.dynamic);
  EXPECT_FALSE(inspect_program("/no/such/program").found);
  EXPECT_FALSE(inspect_program("no-such-program-lockhound").found);
}

}  // namespace
}  // namespace lockhound::runtime
