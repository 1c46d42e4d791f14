// SPDX-License-Identifier: GPL-2.0
/*
 * lh21_clean_irq: interrupt-aware locking done right, no report expected.
 *  - lh21_hw_lock is taken in hardirq and, in process context, only with
 *    spin_lock_irqsave();
 *  - lh21_bh_lock is taken in softirq and, in process context, only with
 *    spin_lock_bh();
 *  - lh21_hw_lock -> lh21_stat_lock where lh21_stat_lock is itself
 *    irq-safe (also taken in hardirq, always with interrupts off elsewhere):
 *    a safe -> safe order;
 *  - lh21_mutex -> lh21_bh_lock: sleeping lock outside a spinning one.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh21_hw_lock);
static DEFINE_SPINLOCK(lh21_stat_lock);
static DEFINE_SPINLOCK(lh21_bh_lock);
static DEFINE_MUTEX(lh21_mutex);
static unsigned long lh21_hw, lh21_bh, lh21_stat;

static void lh21_hw_irq(void *unused)
{
	spin_lock(&lh21_hw_lock);
	lh21_hw++;
	spin_lock(&lh21_stat_lock);
	lh21_stat++;
	spin_unlock(&lh21_stat_lock);
	spin_unlock(&lh21_hw_lock);
}

static void lh21_bh_timer(void *unused)
{
	spin_lock(&lh21_bh_lock);
	lh21_bh++;
	spin_unlock(&lh21_bh_lock);
}

static int __init lh21_init(void)
{
	unsigned long flags;
	int i;

	lh_note("start");
	for (i = 0; i < 3; i++) {
		lh_in_hardirq(lh21_hw_irq, NULL);
		lh_in_softirq(lh21_bh_timer, NULL);

		spin_lock_irqsave(&lh21_hw_lock, flags);
		lh21_hw++;
		spin_lock(&lh21_stat_lock);
		lh21_stat++;
		spin_unlock(&lh21_stat_lock);
		spin_unlock_irqrestore(&lh21_hw_lock, flags);

		spin_lock_irqsave(&lh21_stat_lock, flags);
		lh21_stat++;
		spin_unlock_irqrestore(&lh21_stat_lock, flags);

		mutex_lock(&lh21_mutex);
		spin_lock_bh(&lh21_bh_lock);
		lh21_bh++;
		spin_unlock_bh(&lh21_bh_lock);
		mutex_unlock(&lh21_mutex);
	}
	lh_note("done %lu %lu %lu", lh21_hw, lh21_bh, lh21_stat);
	return 0;
}

static void __exit lh21_exit(void) { }

module_init(lh21_init);
module_exit(lh21_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: irq-safe locking, no report expected");
