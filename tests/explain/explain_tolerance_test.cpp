// explain on the same report as real logs deliver it: with and without timestamps, dmesg -T,
// journalctl, syslog, caller ids, console levels, mail quoting, quoted-printable, torn and
// interleaved lines, CRLF, indented excerpts; several reports (grouped with a count) and a report
// cut off mid-way (a partial finding plus a warning).
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "explain/explain.h"

namespace lockhound::explain {
namespace {

// A 6.1-style ABBA report of a made-up driver.
const char* kSplat = R"(======================================================
WARNING: possible circular locking dependency detected
6.1.0-foo #1 Not tainted
------------------------------------------------------
foo_worker/77 is trying to acquire lock:
ffff888004a1c0d8 (&dev->cfg_lock){+.+.}-{3:3}, at: foo_reconfigure+0x2a/0x90 [foo]

but task is already holding lock:
ffff888004a1c1f0 (&priv->tx_lock){+.+.}-{3:3}, at: foo_tx_work+0x1c/0x80 [foo]

which lock already depends on the new lock.


the existing dependency chain (in reverse order) is:

-> #1 (&priv->tx_lock){+.+.}-{3:3}:
       __mutex_lock+0x9b/0x8e0
       foo_set_config+0x41/0xd0 [foo]
       foo_ioctl+0x77/0x120 [foo]
       __x64_sys_ioctl+0x8e/0xd0
       do_syscall_64+0x3b/0x90
       entry_SYSCALL_64_after_hwframe+0x63/0xcd

-> #0 (&dev->cfg_lock){+.+.}-{3:3}:
       __lock_acquire+0x1336/0x2150
       lock_acquire+0xc8/0x2d0
       __mutex_lock+0x9b/0x8e0
       foo_reconfigure+0x2a/0x90 [foo]
       foo_tx_work+0x5e/0x80 [foo]
       process_one_work+0x27a/0x540
       worker_thread+0x4d/0x3c0
       kthread+0xe3/0x110
       ret_from_fork+0x1f/0x30

other info that might help us debug this:

 Possible unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(&priv->tx_lock);
                               lock(&dev->cfg_lock);
                               lock(&priv->tx_lock);
  lock(&dev->cfg_lock);

 *** DEADLOCK ***

2 locks held by foo_worker/77:
 #0: ffff888003e5a538 ((wq_completion)foo_wq){+.+.}-{0:0}, at: process_one_work+0x1f0/0x540
 #1: ffff888004a1c1f0 (&priv->tx_lock){+.+.}-{3:3}, at: foo_tx_work+0x1c/0x80 [foo]

stack backtrace:
CPU: 1 PID: 77 Comm: foo_worker Not tainted 6.1.0-foo #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5b/0x77
 check_noncircular+0xe2/0x100
 __lock_acquire+0x1336/0x2150
 lock_acquire+0xc8/0x2d0
 __mutex_lock+0x9b/0x8e0
 foo_reconfigure+0x2a/0x90 [foo]
 foo_tx_work+0x5e/0x80 [foo]
 process_one_work+0x27a/0x540
 worker_thread+0x4d/0x3c0
 kthread+0xe3/0x110
 ret_from_fork+0x1f/0x30
 </TASK>
)";

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

std::string map_lines(const std::string& s, const std::function<std::string(const std::string&, size_t)>& fn) {
  std::string out;
  size_t i = 0;
  for (const auto& l : lines_of(s)) out += fn(l, i++) + "\n";
  return out;
}

std::string ts(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "[%5zu.%06zu]", 12 + i / 100, (i * 7919) % 1000000);
  return buf;
}

// The finding every variant must give.
void expect_abba(const ExplainResult& r, const std::string& what, uint64_t count = 1) {
  SCOPED_TRACE(what);
  for (const auto& d : r.diagnostics) EXPECT_FALSE(d.error) << format_diagnostic(d);
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::circular_dependency);
  EXPECT_EQ(f.count, count);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"&dev->cfg_lock", "&priv->tx_lock"}));
  ASSERT_EQ(f.chain.size(), 2u);
  EXPECT_EQ(f.chain[0].from, "&dev->cfg_lock");
  EXPECT_EQ(f.chain[0].to, "&priv->tx_lock");
  ASSERT_GE(f.chain[0].to_site.stack.size(), 2u);
  EXPECT_EQ(f.chain[0].to_site.stack[1].function, "foo_set_config");
  EXPECT_EQ(f.chain[0].to_site.stack[1].offset, "+0x41/0xd0");
  EXPECT_EQ(f.chain[0].to_site.stack[1].object, "foo");
  ASSERT_GE(f.chain[1].to_site.stack.size(), 4u);
  EXPECT_EQ(f.chain[1].to_site.stack[3].function, "foo_reconfigure");
  ASSERT_EQ(f.scenario.rows.size(), 4u);
  EXPECT_EQ(f.scenario.rows[1][1], "lock(&priv->tx_lock);");
  EXPECT_EQ(f.scenario.rows[3][1], "lock(&dev->cfg_lock);");
  ASSERT_FALSE(f.participants.empty());
  EXPECT_EQ(f.participants[0].name, "foo_worker");
  EXPECT_EQ(f.participants[0].pid, 77);
  EXPECT_EQ(f.participants[0].held.size(), 2u);
  EXPECT_NE(f.fix.find("Take &dev->cfg_lock before &priv->tx_lock at foo_reconfigure+0x2a [foo]"), std::string::npos)
      << f.fix;
  EXPECT_NE(f.raw.find("*** DEADLOCK ***"), std::string::npos);
}

TEST(Tolerance, Plain) { expect_abba(explain_log(kSplat, "plain"), "plain"); }

TEST(Tolerance, DmesgTimestamps) {
  auto s = map_lines(kSplat, [](const std::string& l, size_t i) { return ts(i) + " " + l; });
  expect_abba(explain_log(s, "dmesg"), "dmesg");
}

TEST(Tolerance, DmesgHumanTime) {
  auto s = map_lines(kSplat, [](const std::string& l, size_t) { return "[Sat Nov 21 22:12:17 2026] " + l; });
  expect_abba(explain_log(s, "dmesg -T"), "dmesg -T");
}

TEST(Tolerance, JournalctlAndSyslog) {
  auto j = map_lines(kSplat, [](const std::string& l, size_t) { return "Nov 21 22:12:17 buildhost kernel: " + l; });
  expect_abba(explain_log(j, "journalctl -k"), "journalctl -k");
  auto iso = map_lines(kSplat, [](const std::string& l, size_t) {
    return "2026-11-21T22:12:17.123456+0000 buildhost kernel: " + l;
  });
  expect_abba(explain_log(iso, "journalctl -o short-iso"), "short-iso");
  auto mono = map_lines(kSplat, [](const std::string& l, size_t i) { return ts(i) + " buildhost kernel: " + l; });
  expect_abba(explain_log(mono, "journalctl -o short-monotonic"), "short-monotonic");
}

TEST(Tolerance, CallerIdAndConsoleLevels) {
  auto c = map_lines(kSplat, [](const std::string& l, size_t i) { return ts(i) + "[   T77] " + l; });
  expect_abba(explain_log(c, "caller id"), "caller id");
  auto lv = map_lines(kSplat, [](const std::string& l, size_t i) { return "<4>" + ts(i) + " " + l; });
  expect_abba(explain_log(lv, "levels"), "levels");
}

TEST(Tolerance, CallerIdFiltersOtherCpusLines) {
  // Another task's lines, frames included, interleaved everywhere: the tag keeps them out.
  auto c = map_lines(kSplat, [](const std::string& l, size_t i) {
    std::string own = ts(i) + "[   T77] " + l;
    if (i % 3 == 1) own += "\n" + ts(i) + "[  T901] other_func+0x10/0x20\n" + ts(i) + "[    C0] random noise";
    return own;
  });
  expect_abba(explain_log(c, "interleaved with tags"), "interleaved with tags");
}

TEST(Tolerance, UntaggedInterleavingAndTornLines) {
  std::string s = kSplat;
  // Torn "-> #1 (" entry and torn lock line, as on a serial console with concurrent printk.
  auto rep = [&](const std::string& a, const std::string& b) {
    size_t p = s.find(a);
    ASSERT_NE(p, std::string::npos) << a;
    s.replace(p, a.size(), b);
  };
  rep("-> #1 (&priv->tx_lock){+.+.}-{3:3}:", "-> #1 (\n&priv->tx_lock\n){+.+.}-{3:3}:");
  rep("ffff888004a1c1f0 (&priv->tx_lock){+.+.}-{3:3}, at: foo_tx_work+0x1c/0x80 [foo]\n\nwhich",
      "ffff888004a1c1f0 (&priv->\ntx_lock){+.+.}-{3:3}, at: foo_tx_work+0x1c/0x80 [foo]\n\nwhich");
  // Other CPUs' messages inside the report, the scenario table and the backtrace.
  rep("but task is already holding lock:", "usb 1-1: new high-speed USB device number 2 using ehci-pci\nbut task is already holding lock:");
  rep("                               lock(&priv->tx_lock);",
      "e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex\n                               lock(&priv->tx_lock);");
  rep(" process_one_work+0x27a/0x540\n worker_thread", " process_one_work+0x27a/0x540\nrandom: crng init done\n worker_thread");
  expect_abba(explain_log(s, "torn"), "torn");
}

TEST(Tolerance, MailQuotingAndQuotedPrintable) {
  auto q = map_lines(kSplat, [](const std::string& l, size_t) { return l.empty() ? ">" : "> " + l; });
  expect_abba(explain_log("Hi,\n\nwe see this on our boards:\n\n" + q + "\nAny idea?\n", "quoted"), "quoted");
  auto qq = map_lines(q, [](const std::string& l, size_t) { return "> " + l; });
  expect_abba(explain_log(qq, "quoted twice"), "quoted twice");
  // Quoted-printable: '=' as =3D, soft line breaks every 40 characters.
  std::string qp;
  for (const auto& l : lines_of(kSplat)) {
    std::string e;
    for (char c : l) e += c == '=' ? std::string("=3D") : std::string(1, c);
    while (e.size() > 40) {
      size_t cut = 40;
      while (cut > 0 && e[cut - 1] == '=') --cut;  // never split an escape
      if (cut > 1 && e[cut - 2] == '=') cut -= 2;
      qp += e.substr(0, cut) + "=\n";
      e = e.substr(cut);
    }
    qp += e + "\n";
  }
  expect_abba(explain_log(qp, "quoted-printable"), "quoted-printable");
  expect_abba(explain_log(map_lines(qp, [](const std::string& l, size_t) { return "> " + l; }), "qp+quote"), "qp+quote");
}

TEST(Tolerance, CrlfAndIndentedExcerpt) {
  auto crlf = map_lines(kSplat, [](const std::string& l, size_t) { return l + "\r"; });
  expect_abba(explain_log(crlf, "crlf"), "crlf");
  auto indented = map_lines(kSplat, [](const std::string& l, size_t) { return "    " + l; });
  expect_abba(explain_log("commit 1234\n\n    foo: fix lock order\n\n" + indented, "commit"), "commit");
}

TEST(Tolerance, ContinuationLinesWithoutPrefix) {
  // A multi-line printk: the first line has the timestamp, the rest are indented by its width.
  auto s = map_lines(kSplat, [](const std::string& l, size_t i) {
    if (i % 2) return std::string(15, ' ') + l;
    return ts(i) + " " + l;
  });
  expect_abba(explain_log(s, "continuations"), "continuations");
}

TEST(Tolerance, TwoReportsAreGroupedWithACount) {
  std::string log = "[    1.000000] Booting Linux\n" +
                    map_lines(kSplat, [](const std::string& l, size_t i) { return ts(i) + " " + l; }) +
                    "[   50.000000] foo: device reset\n" +
                    map_lines(kSplat, [](const std::string& l, size_t i) { return ts(i + 5000) + " " + l; });
  auto r = explain_log(log, "two.log");
  expect_abba(r, "two", 2);
  bool also = false;
  for (const auto& [k, v] : r.findings[0].details) also |= k == "also at" && v.find("two.log:") == 0;
  EXPECT_TRUE(also);
  EXPECT_EQ(r.findings[0].location, "two.log:3");
}

TEST(Tolerance, DifferentReportsStaySeparate) {
  std::string other = kSplat;
  for (auto [a, b] : {std::pair<std::string, std::string>{"&dev->cfg_lock", "&dev->irq_lock"}}) {
    for (size_t p = other.find(a); p != std::string::npos; p = other.find(a, p + b.size())) other.replace(p, a.size(), b);
  }
  auto r = explain_log(std::string(kSplat) + other, "mixed");
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].count, 1u);
  EXPECT_EQ(r.findings[1].classes[0], "&dev->irq_lock");
}

TEST(Tolerance, CutOffReportGivesPartialFindingAndWarning) {
  std::string s = kSplat;
  s = s.substr(0, s.find("other info that might help"));
  s += "[ another boot ]\n";
  // Followed by a complete report: the cut one must not swallow it.
  auto r = explain_log(s + kSplat, "cut.log");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].count, 2u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_FALSE(r.diagnostics[0].error);
  EXPECT_EQ(r.diagnostics[0].line, 2u);
  EXPECT_NE(format_diagnostic(r.diagnostics[0]).find("cut.log:2: warning:"), std::string::npos);

  // Cut in the middle of the chain: the cycle falls back to what was printed.
  std::string head = std::string(kSplat).substr(0, std::string(kSplat).find("-> #0"));
  auto r2 = explain_log(head, "cut2.log");
  ASSERT_EQ(r2.findings.size(), 1u);
  EXPECT_EQ(r2.findings[0].type, FindingType::circular_dependency);
  EXPECT_EQ(std::set<std::string>(r2.findings[0].classes.begin(), r2.findings[0].classes.end()),
            (std::set<std::string>{"&dev->cfg_lock", "&priv->tx_lock"}));
  ASSERT_FALSE(r2.diagnostics.empty());
  EXPECT_FALSE(r2.diagnostics[0].error);
}

TEST(Tolerance, OldFormats) {
  // Pre-4.14: bracketed title, no instance address, 6-character usage, hashed [<..>] sites.
  const char* old = R"(=======================================================
[ INFO: possible circular locking dependency detected ]
3.10.0 #1 Not tainted
-------------------------------------------------------
foo_worker/77 is trying to acquire lock:
 (&dev->cfg_lock){+.+.+.}, at: [<ffffffffa0012345>] foo_reconfigure+0x2a/0x90 [foo]

but task is already holding lock:
 (&priv->tx_lock){+.+.+.}, at: [<ffffffffa0012000>] foo_tx_work+0x1c/0x80 [foo]

which lock already depends on the new lock.


the existing dependency chain (in reverse order) is:

-> #1 (&priv->tx_lock){+.+.+.}:
       [<ffffffff810a1234>] __mutex_lock_common+0x5d/0x39a
       [<ffffffffa0011111>] foo_set_config+0x41/0xd0 [foo]
       [<ffffffff810b2222>] sys_ioctl+0x8e/0xd0

-> #0 (&dev->cfg_lock){+.+.+.}:
       [<ffffffff810a1234>] lock_acquire+0xc8/0x2d0
       [<ffffffff810a1234>] __mutex_lock_common+0x5d/0x39a
       [<ffffffff810a1234>] mutex_lock_nested+0x40/0x45
       [<ffffffffa0012345>] foo_reconfigure+0x2a/0x90 [foo]
       [<ffffffffa0012346>] foo_tx_work+0x5e/0x80 [foo]

other info that might help us debug this:

 Possible unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(&priv->tx_lock);
                               lock(&dev->cfg_lock);
                               lock(&priv->tx_lock);
  lock(&dev->cfg_lock);

 *** DEADLOCK ***

2 locks held by foo_worker/77:
 #0:  ((foo_wq)){+.+.+.}, at: [<ffffffff81012345>] process_one_work+0x1f0/0x540
 #1:  (&priv->tx_lock){+.+.+.}, at: [<ffffffffa0012000>] foo_tx_work+0x1c/0x80 [foo]

stack backtrace:
Pid: 77, comm: foo_worker Not tainted 3.10.0 #1
Call Trace:
 [<ffffffff8137eff0>] print_circular_bug+0x1f8/0x209
 [<ffffffffa0012345>] foo_reconfigure+0x2a/0x90 [foo]
)";
  auto r = explain_log(old, "old");
  ASSERT_EQ(r.findings.size(), 1u);
  const auto& f = r.findings[0];
  EXPECT_EQ(f.classes, (std::vector<std::string>{"&dev->cfg_lock", "&priv->tx_lock"}));
  ASSERT_EQ(f.chain.size(), 2u);
  EXPECT_EQ(f.chain[0].to_site.stack[1].function, "foo_set_config");
  EXPECT_EQ(f.chain[0].to_site.stack[1].pc, 0xffffffffa0011111u);
  ASSERT_FALSE(f.participants.empty());
  ASSERT_EQ(f.participants[0].held.size(), 2u);
  EXPECT_EQ(f.participants[0].held[0].name, "(foo_wq)");
  EXPECT_EQ(f.participants[0].held[1].usage, "{+.+.+.}");
  EXPECT_TRUE(r.diagnostics.empty());
}

TEST(Tolerance, CleanLogAndGarbage) {
  auto r = explain_log("[    0.000000] Linux version 6.1.0\n[    0.100000] ... MAX_LOCKDEP_KEYS:        8192\n", "clean");
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(r.diagnostics.empty());
  auto e = explain_log("", "empty");
  EXPECT_TRUE(e.findings.empty());
  EXPECT_TRUE(e.diagnostics.empty());
  std::string bin(4096, '\0');
  for (size_t i = 0; i < bin.size(); ++i) bin[i] = static_cast<char>(i * 37);
  auto b = explain_log(bin, "blob.bin");
  ASSERT_FALSE(b.diagnostics.empty());
  EXPECT_TRUE(b.diagnostics[0].error);
}

}  // namespace
}  // namespace lockhound::explain

namespace lockhound::explain {
namespace {

// Another CPU's printk lands between a held-lock entry's " #0: " and its lock (seen on a real
// 2-CPU QEMU console): the lock on the later line still belongs to the entry.
TEST(Tolerance, HeldEntryTornByAnotherCpu) {
  const char* log =
      "[   13.899304] ====================================\n"
      "[   13.899458] WARNING: foo_exit/38 still has locks held!\n"
      "[   13.899821] 6.1.0 #1 Tainted: G           O\n"
      "[   13.900072] ------------------------------------\n"
      "[   13.900241] 1 lock held by foo_exit/38:\n"
      "[   13.900394]  #0: \n"
      "[   13.901477] foo: progress line from the other CPU\n"
      "[   13.900441] ffffffffa0002070 (foo_worker_mutex){+.+.}-{3:3}, at: foo_work+0xe/0x15 [foo]\n"
      "[   13.910980] \n"
      "[   13.910980] stack backtrace:\n";
  auto r = explain_log(log, "torn");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].type, FindingType::still_has_locks_held);
  EXPECT_EQ(r.findings[0].classes, std::vector<std::string>{"foo_worker_mutex"});
}

}  // namespace
}  // namespace lockhound::explain
