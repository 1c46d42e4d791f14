// SPDX-License-Identifier: GPL-2.0
/*
 * lh01_abba: two spinlocks taken in opposite orders by two kernel threads.
 *   lh01_fwd: lh01_queue_lock -> lh01_stats_lock
 *   lh01_rev: lh01_stats_lock -> lh01_queue_lock   (after lh01_fwd ended)
 * lockdep: "possible circular locking dependency detected",
 * classes lh01_queue_lock and lh01_stats_lock.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh01_queue_lock);
static DEFINE_SPINLOCK(lh01_stats_lock);
static unsigned long lh01_queued, lh01_drained;

static void lh01_enqueue(void *unused)
{
	spin_lock(&lh01_queue_lock);
	lh01_queued++;
	spin_lock(&lh01_stats_lock);
	lh01_drained = lh01_queued;
	spin_unlock(&lh01_stats_lock);
	spin_unlock(&lh01_queue_lock);
}

static void lh01_report(void *unused)
{
	spin_lock(&lh01_stats_lock);
	spin_lock(&lh01_queue_lock);	/* the reverse order */
	lh01_drained = lh01_queued;
	spin_unlock(&lh01_queue_lock);
	spin_unlock(&lh01_stats_lock);
}

static int __init lh01_init(void)
{
	lh_note("start");
	lh_in_thread("lh01_fwd", lh01_enqueue, NULL);
	lh_in_thread("lh01_rev", lh01_report, NULL);
	lh_note("done %lu", lh01_drained);
	return 0;
}

static void __exit lh01_exit(void) { }

module_init(lh01_init);
module_exit(lh01_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: AB-BA on two spinlocks");
