// SPDX-License-Identifier: GPL-2.0
/*
 * lh05_softirq_state: lh05_cache_lock is taken by a timer_list callback
 * (softirq), then by process context with plain spin_lock() while softirqs
 * are enabled (spin_lock_bh() would be right).
 * lockdep: "inconsistent lock state",
 * "inconsistent {IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W} usage.", class lh05_cache_lock.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh05_cache_lock);
static int lh05_entries;

static void lh05_expire(void *unused)
{
	spin_lock(&lh05_cache_lock);
	lh05_entries--;
	spin_unlock(&lh05_cache_lock);
}

static int __init lh05_init(void)
{
	lh_note("start");
	lh_in_softirq(lh05_expire, NULL);
	spin_lock(&lh05_cache_lock);	/* softirqs still enabled */
	lh05_entries += 2;
	spin_unlock(&lh05_cache_lock);
	lh_note("done %d", lh05_entries);
	return 0;
}

static void __exit lh05_exit(void) { }

module_init(lh05_init);
module_exit(lh05_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: IN-SOFTIRQ-W -> SOFTIRQ-ON-W");
