// How the kernel calls ops-struct methods (api.def's LH_CALLED rows: the context, the interrupts
// off on entry, the lock held around the call) and the trylock forms drivers test: real C
// fixtures in tests/scan/data scanned in-process, findings asked by type, class and function.
#include "scan_helpers.h"

namespace lockhound::scan::testing {
namespace {

ScanResult scan_data(const std::string& name) {
  return scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / name).string()});
}

bool any_names(const std::vector<Finding>& fs, const std::string& fn) {
  for (const auto& f : fs)
    if (names_function(f, fn)) return true;
  return false;
}

// uart_ops::start_tx runs under port->lock: taking it again is recursive locking.
TEST(ScanCalled, UartStartTxRelockingPortLockIsRecursive) {
  auto r = scan_data("uart_relock.c");
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_EQ(matching(r.findings, FindingType::recursive_locking, {"struct uart_port::lock"}, "relock_start_tx").size(), 1u)
      << describe(r.findings);
  EXPECT_FALSE(any_names(r.findings, "ok_stop_tx")) << describe(r.findings);
}

// The caller's port->lock is ordered before every lock start_tx takes.
TEST(ScanCalled, UartStartTxLockOrderedAfterPortLock) {
  auto r = scan_data("uart_order.c");
  ASSERT_EQ(r.stats.failed, 0u);
  auto hits = matching(r.findings, FindingType::circular_dependency, {"struct uart_port::lock", "struct order_uart::tx_lock"});
  ASSERT_EQ(hits.size(), 1u) << describe(r.findings);
  EXPECT_TRUE(names_function(*hits[0], "order_start_tx")) << describe(r.findings);
  EXPECT_TRUE(names_function(*hits[0], "order_flush")) << describe(r.findings);
}

// ndo_start_xmit runs with softirqs off and hardirqs on. lockdep's rule: a lock taken in
// hardirq context must never be taken with hardirqs enabled (softirqs off does not keep the
// interrupt out), so the plain spin_lock of the handler's lock is inconsistent_lock_state; a lock
// only a softirq (the timer) shares needs nothing more than the softirqs-off entry.
TEST(ScanCalled, NdoStartXmitHasSoftirqsOffHardirqsOn) {
  auto r = scan_data("netdev_xmit.c");
  ASSERT_EQ(r.stats.failed, 0u);
  auto hard = matching(r.findings, FindingType::inconsistent_lock_state, {"struct xmit_priv::lock"}, "xmit_start");
  ASSERT_EQ(hard.size(), 1u) << describe(r.findings);
  bool in_hardirq = false;
  for (const auto& a : hard[0]->acquisitions) in_hardirq |= a.irq == "hardirq";
  EXPECT_TRUE(in_hardirq) << describe(r.findings);
  // stats_lock: the timer's use is seen (xstats_open, softirqs on, is reported) ...
  EXPECT_EQ(matching(r.findings, FindingType::inconsistent_lock_state, {"struct xmit_priv::stats_lock"}, "xstats_open").size(), 1u)
      << describe(r.findings);
  // ... and tx_stats_lock, the timer's too, is safe in xmit_start with softirqs off.
  for (const auto& f : r.findings) EXPECT_FALSE(has_class(f, "struct xmit_priv::tx_stats_lock")) << describe({f});
}

// snd_pcm_ops::trigger runs with hardirqs off: a plain spin_lock there is safe.
TEST(ScanCalled, PcmTriggerHasHardirqsOff) {
  auto r = scan_data("pcm_trigger.c");
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_EQ(matching(r.findings, FindingType::inconsistent_lock_state, {"struct pcm_chip::reg_lock"}, "pcm_prepare").size(), 1u)
      << describe(r.findings);
  EXPECT_FALSE(any_names(r.findings, "pcm_trigger")) << describe(r.findings);
  for (const auto& f : r.findings) EXPECT_FALSE(has_class(f, "struct pcm_chip::dma_lock")) << describe({f});
}

// spin_trylock_irqsave()'s statement expression, `!` around it, and a kept result.
TEST(ScanTrylock, StatementExpressionAndKeptResultBalance) {
  auto r = scan_data("trylock_forms.c");
  ASSERT_EQ(r.stats.failed, 0u);
  for (const char* fn : {"try_irqsave", "try_irqsave_hw", "try_irqsave_negated", "try_kept", "try_kept_reassigned"})
    EXPECT_FALSE(any_names(r.findings, fn)) << fn << "\n" << describe(r.findings);
  EXPECT_EQ(matching(r.findings, FindingType::missing_unlock, {"struct tl::lock"}, "leak_kept").size(), 1u)
      << describe(r.findings);
  // Interrupts are off inside a successful spin_trylock_irqsave(): dev_lock is safe there.
  EXPECT_EQ(matching(r.findings, FindingType::inconsistent_lock_state, {"struct tl::hw_lock"}, "hw_unsafe").size(), 1u)
      << describe(r.findings);
  for (const auto& f : r.findings) EXPECT_FALSE(has_class(f, "struct tl::dev_lock")) << describe({f});
}

// prepare_to_wait_event() runs under the lock wait_event_lock_irq() drops around schedule().
TEST(ScanSleep, PrepareToWaitEventUnderTheLockDoesNotSleep) {
  auto r = scan_data("wait_lock_irq.c");
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_EQ(matching(r.findings, FindingType::sleeping_in_invalid_context, {"struct waiter::lock"}, "sleep_locked").size(), 1u)
      << describe(r.findings);
  EXPECT_FALSE(any_names(r.findings, "wait_ready")) << describe(r.findings);
}

}  // namespace
}  // namespace lockhound::scan::testing
