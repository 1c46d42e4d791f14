// SPDX-License-Identifier: GPL-2.0
/*
 * lh06_safe_unsafe: lh06_irq_lock is used in a hardirq handler (so it is
 * HARDIRQ-safe); lh06_list_lock is taken with hardirqs on (HARDIRQ-unsafe).
 * Then process context nests lh06_list_lock inside lh06_irq_lock: an
 * interrupt arriving while another CPU holds lh06_list_lock could deadlock.
 * lockdep: "HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
 * classes lh06_irq_lock and lh06_list_lock.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh06_irq_lock);
static DEFINE_SPINLOCK(lh06_list_lock);
static int lh06_events, lh06_items;

static void lh06_irq_handler(void *unused)
{
	spin_lock(&lh06_irq_lock);
	lh06_events++;
	spin_unlock(&lh06_irq_lock);
}

static int __init lh06_init(void)
{
	unsigned long flags;

	lh_note("start");
	lh_in_hardirq(lh06_irq_handler, NULL);

	spin_lock(&lh06_list_lock);		/* hardirqs enabled */
	lh06_items++;
	spin_unlock(&lh06_list_lock);

	spin_lock_irqsave(&lh06_irq_lock, flags);
	spin_lock(&lh06_list_lock);		/* safe -> unsafe */
	lh06_items += lh06_events;
	spin_unlock(&lh06_list_lock);
	spin_unlock_irqrestore(&lh06_irq_lock, flags);
	lh_note("done %d", lh06_items);
	return 0;
}

static void __exit lh06_exit(void) { }

module_init(lh06_init);
module_exit(lh06_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: HARDIRQ-safe -> HARDIRQ-unsafe order");
