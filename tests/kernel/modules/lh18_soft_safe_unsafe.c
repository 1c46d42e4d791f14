// SPDX-License-Identifier: GPL-2.0
/*
 * lh18_soft_safe_unsafe: the softirq flavour of lh06. lh18_timer_lock is
 * taken by a timer_list callback (SOFTIRQ-safe); lh18_conf_lock is taken in
 * process context with softirqs on (SOFTIRQ-unsafe); then process context
 * nests lh18_conf_lock inside lh18_timer_lock under spin_lock_bh().
 * lockdep: "SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
 * classes lh18_timer_lock and lh18_conf_lock.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh18_timer_lock);
static DEFINE_SPINLOCK(lh18_conf_lock);
static int lh18_period = 10, lh18_ticks;

static void lh18_tick(void *unused)
{
	spin_lock(&lh18_timer_lock);
	lh18_ticks++;
	spin_unlock(&lh18_timer_lock);
}

static int __init lh18_init(void)
{
	lh_note("start");
	lh_in_softirq(lh18_tick, NULL);

	spin_lock(&lh18_conf_lock);		/* softirqs enabled */
	lh18_period = 20;
	spin_unlock(&lh18_conf_lock);

	spin_lock_bh(&lh18_timer_lock);
	spin_lock(&lh18_conf_lock);		/* safe -> unsafe */
	lh18_ticks += lh18_period;
	spin_unlock(&lh18_conf_lock);
	spin_unlock_bh(&lh18_timer_lock);
	lh_note("done %d", lh18_ticks);
	return 0;
}

static void __exit lh18_exit(void) { }

module_init(lh18_init);
module_exit(lh18_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: SOFTIRQ-safe -> SOFTIRQ-unsafe order");
