// `trace --lockdep`: the same boot's /proc/lockdep tells an annotated nesting of two locks of one
// class (spin_lock_nested: a subclass) from the recursive locking lockdep reports, which a trace
// alone cannot. The class list parser on real /proc/lockdep files, then small traces written here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/testdata.h"
#include "trace/lockdep_classes.h"
#include "trace/trace_analyzer.h"

namespace lockhound::trace {
namespace {

using lockhound::testing::read_file;
using lockhound::testing::shared_dir;

TEST(LockdepClasses, SplitsVersionAndSubclass) {
  std::string base;
  int sub = -1;
  split_class_name("&pool->lock/1", base, sub);
  EXPECT_EQ(base, "&pool->lock");
  EXPECT_EQ(sub, 1);
  split_class_name("&type->s_umount_key#3/1", base, sub);
  EXPECT_EQ(base, "&type->s_umount_key");
  EXPECT_EQ(sub, 1);
  split_class_name("&x->wait#2", base, sub);
  EXPECT_EQ(base, "&x->wait");
  EXPECT_EQ(sub, 0);
  split_class_name("(wq_completion)events", base, sub);
  EXPECT_EQ(base, "(wq_completion)events");
  EXPECT_EQ(sub, 0);
  split_class_name("kworker/0", base, sub);  // a name that merely ends in /digit is still split
  EXPECT_EQ(base, "kworker");
}

// A real boot's class list: every class line read, subclasses found where lockdep printed them.
TEST(LockdepClasses, ReadsARealProcLockdep) {
  LOCKHOUND_REQUIRE_SHARED();
  std::string text = read_file(shared_dir() / "testdata/kernel/m1_abba/lockdep.txt");
  LockdepClasses c;
  std::vector<Diagnostic> diags;
  ASSERT_TRUE(parse_lockdep_classes(text, "lockdep.txt", c, diags));
  EXPECT_TRUE(diags.empty()) << format_diagnostic(diags.front());
  size_t class_lines = 0;
  for (size_t p = 0; (p = text.find(" OPS:", p)) != std::string::npos; ++p) ++class_lines;
  EXPECT_EQ(c.entries, class_lines);
  EXPECT_TRUE(c.knows("m1_lock_a"));
  EXPECT_FALSE(c.nests("m1_lock_a"));
  EXPECT_TRUE(c.nests("&pool->lock"));   // "&pool->lock/1" is listed
  EXPECT_TRUE(c.nests("&type->s_umount_key"));
  EXPECT_FALSE(c.knows("no_such_lock"));
}

TEST(LockdepClasses, NotAClassListIsSaidWithItsLine) {
  LockdepClasses c;
  std::vector<Diagnostic> diags;
  EXPECT_FALSE(parse_lockdep_classes("hello\nworld\n", "x.txt", c, diags));
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].line, 1u);
  EXPECT_NE(diags[0].message.find("OPS: N FD: N BD: N"), std::string::npos) << diags[0].message;
  // A good line among bad ones is kept, the bad one named.
  diags.clear();
  EXPECT_TRUE(parse_lockdep_classes("all lock classes:\nffffffff81abe100 OPS: 4 FD: 1 BD: 2 +.+.: a_lock\n"
                                    "garbage here\n",
                                    "y.txt", c, diags));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].line, 3u);
  EXPECT_TRUE(c.knows("a_lock"));
}

// Two dev->lock instances nested by one task, in ftrace's format.
constexpr const char* kNestedTrace =
    "# tracer: nop\n"
    "          insmod-77      [000] .....    20.000100: lock_acquire: ffff888003a10010 &dev->lock\n"
    "          insmod-77      [000] .....    20.000200: lock_acquire: ffff888003a20010 &dev->lock\n"
    "          insmod-77      [000] .....    20.000300: lock_release: ffff888003a20010 &dev->lock\n"
    "          insmod-77      [000] .....    20.000400: lock_release: ffff888003a10010 &dev->lock\n";

std::vector<Finding> run_trace(const LockdepClasses* classes, TraceStats& st) {
  TraceOptions o;
  o.input_name = "nested.trace";
  o.lockdep = classes;
  TraceAnalyzer a(o);
  analyze_text(kNestedTrace, a);
  st = a.stats();
  return a.findings();
}

LockdepClasses classes_from(const char* text) {
  LockdepClasses c;
  std::vector<Diagnostic> diags;
  EXPECT_TRUE(parse_lockdep_classes(text, "lockdep", c, diags));
  EXPECT_TRUE(diags.empty());
  return c;
}

TEST(TraceLockdep, WithoutTheClassListANestingIsTakenAsAnnotatedAndCounted) {
  TraceStats st;
  auto fs = run_trace(nullptr, st);
  EXPECT_TRUE(fs.empty());
  EXPECT_EQ(st.nested_assumed, 1u);
  EXPECT_EQ(st.nested_unannotated, 0u);
}

TEST(TraceLockdep, AClassWithoutASubclassNestedIsRecursiveLocking) {
  LockdepClasses c = classes_from(
      "all lock classes:\n"
      "ffffffffa0002110 OPS:       2 FD:    1 BD:    1 +.+.: &dev->lock\n"
      " -> [ffffffff81ac4d48] tk_core.seq.seqcount\n");
  TraceStats st;
  auto fs = run_trace(&c, st);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].type, FindingType::recursive_locking);
  EXPECT_EQ(fs[0].classes, std::vector<std::string>{"&dev->lock"});
  EXPECT_NE(fs[0].location.find("nested.trace:3"), std::string::npos) << fs[0].location;
  EXPECT_EQ(st.nested_unannotated, 1u);
  EXPECT_EQ(st.nested_assumed, 0u);
}

TEST(TraceLockdep, AClassWithASubclassListedIsAnAnnotatedNesting) {
  LockdepClasses c = classes_from(
      "all lock classes:\n"
      "ffffffffa0002110 OPS:       2 FD:    1 BD:    1 +.+.: &dev->lock\n"
      "ffffffffa0002111 OPS:       1 FD:    1 BD:    2 +.+.: &dev->lock/1\n");
  TraceStats st;
  EXPECT_TRUE(run_trace(&c, st).empty());
  EXPECT_EQ(st.nested_confirmed, 1u);
  EXPECT_EQ(st.nested_unannotated, 0u);
}

TEST(TraceLockdep, AClassTheListDoesNotNameKeepsTheAssumption) {
  LockdepClasses c = classes_from("ffffffffa0002110 OPS: 2 FD: 1 BD: 1 +.+.: other_lock\n");
  TraceStats st;
  EXPECT_TRUE(run_trace(&c, st).empty());
  EXPECT_EQ(st.nested_assumed, 1u);
}

// The real boots: lockdep reported no recursive locking on them, and neither does trace with
// their class lists; every nesting lockhound saw is one lockdep registered a subclass for.
TEST(TraceLockdep, RealBootsWithTheirClassListsKeepLockdepsVerdict) {
  LOCKHOUND_REQUIRE_SHARED();
  for (const char* boot : {"m1_abba", "m2_irq_inversion", "m8_clean"}) {
    auto dir = shared_dir() / "testdata/kernel" / boot;
    LockdepClasses c;
    std::vector<Diagnostic> diags;
    ASSERT_TRUE(parse_lockdep_classes(read_file(dir / "lockdep.txt"), "lockdep.txt", c, diags)) << boot;
    TraceOptions o;
    o.input_name = boot;
    o.lockdep = &c;
    TraceAnalyzer a(o);
    analyze_text(read_file(dir / "trace.txt"), a);
    for (const auto& f : a.findings()) EXPECT_NE(f.type, FindingType::recursive_locking) << boot << ": " << f.summary;
    EXPECT_EQ(a.stats().nested_unannotated, 0u) << boot;
    EXPECT_GT(a.stats().nested_confirmed, 0u) << boot;
    EXPECT_EQ(a.stats().nested_assumed, 0u) << boot;
  }
}

}  // namespace
}  // namespace lockhound::trace
