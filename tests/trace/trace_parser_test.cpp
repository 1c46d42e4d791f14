// The trace parser on real lines of every format it reads (ftrace with 5, 4 and no irq-info
// columns, with the tgid column, trace_pipe; perf script with and without callchains) and on
// malformed lines. Real lines come from ../shared/testdata; format variants the captures do not
// contain are written here in the exact layout the kernel and perf print.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/testdata.h"
#include "trace/line_reader.h"
#include "trace/trace_parser.h"

namespace lockhound::trace {
namespace {

using lockhound::testing::read_file;
using lockhound::testing::shared_dir;

ParsedLine parse1(std::string_view line) {
  TraceParser p;
  return p.parse(line);
}

TEST(TraceParser, Ftrace61AcquireInHardirq) {
  auto r = parse1(
      "          <idle>-0       [000] d.h2.     9.944922: lock_acquire: ffffffff81ac4d48 read "
      "tk_core.seq.seqcount");
  ASSERT_EQ(r.kind, LineKind::event) << r.error;
  const auto& e = r.event;
  EXPECT_EQ(e.type, EventType::lock_acquire);
  EXPECT_EQ(e.comm, "<idle>");
  EXPECT_EQ(e.pid, 0);
  EXPECT_EQ(e.cpu, 0);
  EXPECT_TRUE(e.irq.known);
  EXPECT_TRUE(e.irq.bh_known);
  EXPECT_TRUE(e.irq.irqs_off);
  EXPECT_TRUE(e.irq.hardirq);
  EXPECT_FALSE(e.irq.softirq);
  EXPECT_FALSE(e.irq.bh_off);
  EXPECT_EQ(e.irq.preempt_depth, 2);
  EXPECT_EQ(e.timestamp_ns, 9944922000ull);
  EXPECT_EQ(e.addr, 0xffffffff81ac4d48ull);
  EXPECT_TRUE(e.read);
  EXPECT_FALSE(e.trylock);
  EXPECT_EQ(e.name, "tk_core.seq.seqcount");
}

TEST(TraceParser, FtraceEveryLockEvent) {
  TraceParser p;
  auto rel = p.parse("            init-1       [000] ...1.     2.906595: lock_release: ff1100000034c900 sb_writers");
  ASSERT_EQ(rel.kind, LineKind::event);
  EXPECT_EQ(rel.event.type, EventType::lock_release);
  EXPECT_EQ(rel.event.comm, "init");
  EXPECT_EQ(rel.event.pid, 1);
  EXPECT_FALSE(rel.event.irq.irqs_off);
  EXPECT_EQ(rel.event.name, "sb_writers");
  EXPECT_EQ(rel.event.addr, 0xff1100000034c900ull);

  auto cb = p.parse("            init-1       [000] ...2.     2.906680: contention_begin: ffffffff81ac78c0 (flags=SPIN|MUTEX)");
  ASSERT_EQ(cb.kind, LineKind::event);
  EXPECT_EQ(cb.event.type, EventType::contention_begin);
  EXPECT_EQ(cb.event.contention_flags, uint32_t(kContentionSpin | kContentionMutex));

  auto ce = p.parse("            init-1       [000] ...2.     2.906692: contention_end: ffffffff81ac78c0 (ret=0)");
  ASSERT_EQ(ce.kind, LineKind::event);
  EXPECT_EQ(ce.event.type, EventType::contention_end);
  EXPECT_EQ(ce.event.ret, 0);

  auto ce2 = p.parse("           mysqld-4242   [003] ...1.   110.216641: contention_end: ffff888004a2c000 (ret=-4)");
  ASSERT_EQ(ce2.kind, LineKind::event);
  EXPECT_EQ(ce2.event.ret, -4);

  auto acq = p.parse("          <idle>-0       [000] d.h3.     9.945429: lock_acquired: ff1100003e5edf18 hrtimer_bases.lock");
  ASSERT_EQ(acq.kind, LineKind::event);
  EXPECT_EQ(acq.event.type, EventType::lock_acquired);

  auto con = p.parse("     kworker/1:1-24      [001] d..2.     3.021633: lock_contended: ff11000000347d10 &rq->__lock");
  ASSERT_EQ(con.kind, LineKind::event);
  EXPECT_EQ(con.event.type, EventType::lock_contended);
  EXPECT_EQ(con.event.comm, "kworker/1:1");
  EXPECT_EQ(con.event.pid, 24);
  EXPECT_EQ(con.event.cpu, 1);
}

TEST(TraceParser, NamesWithSpacesAndTryRead) {
  TraceParser p;
  auto r = p.parse("     kworker/1:1-24      [001] ...2.     3.021631: lock_acquire: ff11000000347d10 subsys mutex");
  ASSERT_EQ(r.kind, LineKind::event);
  EXPECT_EQ(r.event.name, "subsys mutex");
  auto t = p.parse("           m1_ab-44      [001] d.s1.    10.002086: lock_acquire: ffa00000000a8e88 try read &(({ do { x; } while (0); }))->timer");
  ASSERT_EQ(t.kind, LineKind::event);
  EXPECT_TRUE(t.event.trylock);
  EXPECT_TRUE(t.event.read);
  EXPECT_TRUE(t.event.irq.softirq);
  EXPECT_EQ(t.event.name, "&(({ do { x; } while (0); }))->timer");
}

TEST(TraceParser, FlagColumnVariants) {
  TraceParser p;
  // 6.1: 'D' = irqs off and BH disabled; 'b' = BH disabled only; 'H' = hardirq inside softirq.
  auto d = p.parse("  ksoftirqd/0-13   [000] D.s3.    5.000001: lock_acquire: ffff888004a2c000 &x->lock");
  ASSERT_EQ(d.kind, LineKind::event) << d.error;
  EXPECT_TRUE(d.event.irq.irqs_off);
  EXPECT_TRUE(d.event.irq.bh_off);
  EXPECT_TRUE(d.event.irq.softirq);
  auto b = p.parse("            bash-77    [001] b..1.    5.000002: lock_acquire: ffff888004a2c000 &x->lock");
  ASSERT_EQ(b.kind, LineKind::event) << b.error;
  EXPECT_FALSE(b.event.irq.irqs_off);
  EXPECT_TRUE(b.event.irq.bh_off);
  auto h = p.parse("            bash-77    [001] dNH3.    5.000003: lock_acquire: ffff888004a2c000 &x->lock");
  ASSERT_EQ(h.kind, LineKind::event) << h.error;
  EXPECT_TRUE(h.event.irq.hardirq);
  EXPECT_TRUE(h.event.irq.softirq);
  auto z = p.parse("            bash-77    [001] d.Z3.    5.000004: lock_acquire: ffff888004a2c000 &x->lock");
  ASSERT_EQ(z.kind, LineKind::event) << z.error;
  EXPECT_TRUE(z.event.irq.nmi);
  // Older kernels: 4 columns, no BH information.
  auto old = p.parse("  <idle>-0       [001] d.s3 20803.501685: lock_acquire: 0000000008b91ab4 &sg_policy->update_lock");
  ASSERT_EQ(old.kind, LineKind::event) << old.error;
  EXPECT_TRUE(old.event.irq.known);
  EXPECT_FALSE(old.event.irq.bh_known);
  EXPECT_TRUE(old.event.irq.softirq);
  EXPECT_EQ(old.event.irq.preempt_depth, 3);
  EXPECT_EQ(old.event.addr, 0x8b91ab4u);  // hash-ptr on: hashed, still consistent per boot
  EXPECT_EQ(old.event.name, "&sg_policy->update_lock");
  // Hex preempt depth.
  auto hex = p.parse("  bash-77    [001] ...a.    5.000005: lock_release: ffff888004a2c000 &x->lock");
  ASSERT_EQ(hex.kind, LineKind::event) << hex.error;
  EXPECT_EQ(hex.event.irq.preempt_depth, 10);
}

TEST(TraceParser, HeaderLegendDecidesBhColumn) {
  TraceParser p;
  EXPECT_EQ(p.bh_legend(), -1);
  EXPECT_EQ(p.parse("#                                _-----=> irqs-off/BH-disabled").kind, LineKind::header);
  EXPECT_EQ(p.bh_legend(), 1);
  TraceParser old;
  old.parse("#                              _-----=> irqs-off");
  EXPECT_EQ(old.bh_legend(), 0);
  auto r = old.parse("  bash-77    [001] ...1.    5.000005: lock_release: ffff888004a2c000 &x->lock");
  ASSERT_EQ(r.kind, LineKind::event);
  EXPECT_FALSE(r.event.irq.bh_known);  // 5 columns, but the legend says no BH column
}

TEST(TraceParser, NoIrqInfoTgidAndOddTaskNames) {
  TraceParser p;
  // options/irq-info off.
  auto n = p.parse("         chronyd-544     [006]   110.216640: lock_acquire: 000000003660b68f read rcu_read_lock_trace");
  ASSERT_EQ(n.kind, LineKind::event) << n.error;
  EXPECT_FALSE(n.event.irq.known);
  EXPECT_EQ(n.event.comm, "chronyd");
  EXPECT_EQ(n.event.pid, 544);
  EXPECT_EQ(n.event.cpu, 6);
  EXPECT_EQ(n.event.name, "rcu_read_lock_trace");
  // options/record-tgid.
  auto t = p.parse("            bash-1234    (   1200) [000] ...1.   110.216641: lock_release: 0000000099631762 &mm->mmap_lock");
  ASSERT_EQ(t.kind, LineKind::event) << t.error;
  EXPECT_EQ(t.event.pid, 1234);
  EXPECT_EQ(t.event.comm, "bash");
  auto t2 = p.parse("          <idle>-0       (-------) [001] d.h2.   110.216642: lock_release: 0000000099631762 &rq->__lock");
  ASSERT_EQ(t2.kind, LineKind::event) << t2.error;
  EXPECT_EQ(t2.event.pid, 0);
  // Task names with dashes and spaces; the last "-PID" is the pid.
  auto d = p.parse(" systemd-journal-123     [000] ...1.     1.000000: lock_release: ffff888004a2c000 &x->lock");
  ASSERT_EQ(d.kind, LineKind::event) << d.error;
  EXPECT_EQ(d.event.comm, "systemd-journal");
  EXPECT_EQ(d.event.pid, 123);
  auto s = p.parse("     Web Content-4242    [002] ...1.     1.000000: lock_release: ffff888004a2c000 &x->lock");
  ASSERT_EQ(s.kind, LineKind::event) << s.error;
  EXPECT_EQ(s.event.comm, "Web Content");
  EXPECT_EQ(s.event.pid, 4242);
  auto u = p.parse("           <...>-4242    [002] ...1.     1.000000: lock_release: ffff888004a2c000 &x->lock");
  ASSERT_EQ(u.kind, LineKind::event) << u.error;
  EXPECT_EQ(u.event.comm, "<...>");
}

TEST(TraceParser, OtherEventsAreRecognised) {
  TraceParser p;
  auto r = p.parse("          <idle>-0       [000] d..2.     9.944922: sched_switch: prev_comm=swapper/0 prev_pid=0 ==> next_comm=bash next_pid=77");
  ASSERT_EQ(r.kind, LineKind::event) << r.error;
  EXPECT_EQ(r.event.type, EventType::other);
  EXPECT_EQ(r.event.event, "sched_switch");
}

TEST(TraceParser, PerfScriptLines) {
  TraceParser p;
  auto a = p.parse("              xz 26655 [001]  5347.969692: lock:contention_begin: 0xffff88811f1eae98 (flags=SPIN)");
  ASSERT_EQ(a.kind, LineKind::event) << a.error;
  EXPECT_EQ(a.event.type, EventType::contention_begin);
  EXPECT_EQ(a.event.comm, "xz");
  EXPECT_EQ(a.event.pid, 26655);
  EXPECT_EQ(a.event.cpu, 1);
  EXPECT_FALSE(a.event.irq.known);
  EXPECT_EQ(a.event.addr, 0xffff88811f1eae98ull);
  EXPECT_EQ(a.event.contention_flags, uint32_t(kContentionSpin));
  auto b = p.parse("     rcu_preempt    15 [001]  5348.004320:   lock:contention_end: 0xffffffff830f6018 (ret=0)");
  ASSERT_EQ(b.kind, LineKind::event) << b.error;
  EXPECT_EQ(b.event.type, EventType::contention_end);
  EXPECT_EQ(b.event.pid, 15);
  // A lockdep kernel's lock_acquire, perf layout; comm with a space; pid/tid; no CPU column.
  auto c = p.parse("     Web Content  4242/4250 [003]   12.000001: lock:lock_acquire: 0xffff888004a2c000 try read &mm->mmap_lock");
  ASSERT_EQ(c.kind, LineKind::event) << c.error;
  EXPECT_EQ(c.event.comm, "Web Content");
  EXPECT_EQ(c.event.pid, 4250);
  EXPECT_TRUE(c.event.trylock);
  EXPECT_TRUE(c.event.read);
  EXPECT_EQ(c.event.name, "&mm->mmap_lock");
  auto d = p.parse("kcompactd0    35  5331.456326: lock:lock_release: 0xffff888627d2ba40 &pgdat->kcompactd_wait");
  ASSERT_EQ(d.kind, LineKind::event) << d.error;
  EXPECT_EQ(d.event.cpu, -1);
  EXPECT_EQ(d.event.pid, 35);
  EXPECT_EQ(d.event.comm, "kcompactd0");
}

TEST(TraceParser, PerfCallchainFrames) {
  TraceParser p;
  auto f = p.parse("\tffffffff822014be __pv_queued_spin_lock_slowpath+0x10e ([kernel.kallsyms])");
  ASSERT_EQ(f.kind, LineKind::frame) << f.error;
  EXPECT_EQ(f.frame.pc, 0xffffffff822014beull);
  EXPECT_EQ(f.frame.function, "__pv_queued_spin_lock_slowpath");
  EXPECT_EQ(f.frame.offset, "+0x10e");
  EXPECT_EQ(f.frame.object, "[kernel.kallsyms]");
  auto u = p.parse("\t    7f12a3b4c5d6 [unknown] (/usr/lib/libc.so.6)");
  ASSERT_EQ(u.kind, LineKind::frame) << u.error;
  EXPECT_EQ(u.frame.function, "[unknown]");
  EXPECT_EQ(u.frame.object, "/usr/lib/libc.so.6");
  EXPECT_EQ(p.parse("").kind, LineKind::blank);
  EXPECT_EQ(p.parse("   \r").kind, LineKind::blank);
}

TEST(TraceParser, MalformedLinesSayWhatWasExpected) {
  TraceParser p;
  struct Case {
    const char* line;
    const char* expected;
  } cases[] = {
      {"garbage here", "expected a trace event line"},
      {"            init-1       [000] ...1.     2.906", "expected a trace event line"},
      {"            init-1       [000] q..1.     2.906595: lock_release: ff11 x", "expected irq-info flags"},
      {"            init-1       [0a0] ...1.     2.906595: lock_release: ff11 x", "expected a CPU number"},
      {"            init       [000] ...1.     2.906595: lock_release: ff11 x", "expected 'TASK-PID'"},
      {"            init-1       [000] ...1.     2.906595: lock_release: zzzz x", "expected a lock address"},
      {"            init-1       [000] ...1.     2.906595: lock_release: ff1100000034c900", "expected a lock class name"},
      {"            init-1       [000] ...2.     2.906680: contention_begin: ffffffff81ac78c0 flags=SPIN", "expected '(flags=...)'"},
      {"            init-1       [000] ...2.     2.906680: contention_begin: ffffffff81ac78c0 (flags=SPIN|BOGUS)", "expected contention flags"},
      {"            init-1       [000] ...2.     2.906692: contention_end: ffffffff81ac78c0 (ret=x)", "expected a number in '(ret=N)'"},
  };
  for (const auto& c : cases) {
    auto r = p.parse(c.line);
    EXPECT_EQ(r.kind, LineKind::malformed) << c.line;
    EXPECT_NE(r.error.find(c.expected), std::string_view::npos) << c.line << " -> " << r.error;
  }
}

// Counts of each event type in a capture, as its EXPECTED.md states them ("  - lock_acquire: 6465 / 4").
struct Counts {
  uint64_t whole[6] = {}, module[6] = {};
};

Counts expected_counts(const std::string& md) {
  Counts c;
  const char* names[6] = {"lock_acquire", "lock_release", "lock_contended", "lock_acquired",
                          "contention_begin", "contention_end"};
  for (int i = 0; i < 6; ++i) {
    std::string key = std::string("  - ") + names[i] + ": ";
    size_t pos = md.find(key);
    if (pos == std::string::npos) continue;
    unsigned long long a = 0, b = 0;
    std::sscanf(md.c_str() + pos + key.size(), "%llu / %llu", &a, &b);
    c.whole[i] = a;
    c.module[i] = b;
  }
  return c;
}

// Every line of a real capture parses; the event counts equal what the capture's notes say.
void check_capture(const std::filesystem::path& file, const uint64_t* expected) {
  std::string text = read_file(file);
  ASSERT_FALSE(text.empty()) << file;
  TraceParser p;
  uint64_t counts[7] = {};
  size_t line_no = 0, events = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    ++line_no;
    auto r = p.parse(line);
    ASSERT_NE(r.kind, LineKind::malformed) << file << ":" << line_no << ": " << r.error;
    if (r.kind == LineKind::event) {
      ++events;
      ++counts[int(r.event.type)];
      EXPECT_TRUE(r.event.irq.known);
      EXPECT_TRUE(r.event.irq.bh_known);
      EXPECT_GE(r.event.cpu, 0);
      EXPECT_GE(r.event.pid, 0);
    }
  }
  EXPECT_GT(events, 0u);
  EXPECT_EQ(p.bh_legend(), 1);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(counts[i], expected[i]) << file << " " << event_type_name(EventType(i));
  EXPECT_EQ(counts[int(EventType::other)], 0u);
}

TEST(TraceParser, RealKernelCaptures) {
  LOCKHOUND_REQUIRE_SHARED();
  for (const char* m : {"m1_abba", "m2_irq_inversion", "m8_clean"}) {
    auto dir = shared_dir() / "testdata" / "kernel" / m;
    Counts c = expected_counts(read_file(dir / "EXPECTED.md"));
    EXPECT_GT(c.whole[0], 0u) << "EXPECTED.md counts not found for " << m;
    check_capture(dir / "trace.txt", c.whole);
    check_capture(dir / "trace_module.txt", c.module);
  }
}

TEST(TraceParser, RealPerfScript) {
  LOCKHOUND_REQUIRE_SHARED();
  auto dir = shared_dir() / "testdata" / "perf";
  for (const char* f : {"contention.perf-script.txt", "contention-callchains.perf-script.txt"}) {
    std::string text = read_file(dir / f);
    ASSERT_FALSE(text.empty());
    TraceParser p;
    size_t events = 0, frames = 0, begins = 0, ends = 0, line_no = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      ++line_no;
      auto r = p.parse(line);
      ASSERT_NE(r.kind, LineKind::malformed) << f << ":" << line_no << ": " << r.error;
      if (r.kind == LineKind::event) {
        ++events;
        EXPECT_FALSE(r.event.irq.known);
        EXPECT_NE(r.event.addr, 0u);
        begins += r.event.type == EventType::contention_begin;
        ends += r.event.type == EventType::contention_end;
      }
      if (r.kind == LineKind::frame) {
        ++frames;
        EXPECT_FALSE(r.frame.function.empty());
        EXPECT_EQ(r.frame.object, "[kernel.kallsyms]");
      }
    }
    EXPECT_GT(events, 0u);
    EXPECT_EQ(begins, ends) << f;
    EXPECT_EQ(events, begins + ends);
    if (std::string_view(f).find("callchains") != std::string_view::npos) EXPECT_GT(frames, events);
    else EXPECT_EQ(frames, 0u);
  }
}

// The line reader: lines across buffer refills, a last line without newline, an over-long line.
TEST(LineReader, SplitsAcrossRefillsAndCutsLongLines) {
  char path[] = "/tmp/lockhound_linereader_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content;
  std::vector<std::string> lines;
  for (int i = 0; i < 500; ++i) lines.push_back("line " + std::to_string(i) + std::string(size_t(i % 37), 'x'));
  lines.push_back(std::string(300, 'L'));  // longer than max_line below
  lines.push_back("after long");
  lines.push_back("last without newline");
  for (size_t i = 0; i < lines.size(); ++i) content += lines[i] + (i + 1 < lines.size() ? "\n" : "");
  ASSERT_EQ(::write(fd, content.data(), content.size()), ssize_t(content.size()));
  ::lseek(fd, 0, SEEK_SET);
  LineReader r(fd, 64, 128);
  std::string_view line;
  size_t i = 0;
  while (r.next(line)) {
    ASSERT_LT(i, lines.size());
    if (lines[i].size() > 128) {
      EXPECT_TRUE(r.truncated());
      EXPECT_EQ(line, std::string_view(lines[i]).substr(0, 128));
    } else {
      EXPECT_FALSE(r.truncated());
      EXPECT_EQ(line, lines[i]) << i;
    }
    ++i;
  }
  EXPECT_EQ(i, lines.size());
  EXPECT_TRUE(r.error().empty());
  EXPECT_EQ(r.bytes_consumed(), content.size());
  ::close(fd);
  ::unlink(path);
}

}  // namespace
}  // namespace lockhound::trace
