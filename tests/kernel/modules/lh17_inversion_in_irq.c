// SPDX-License-Identifier: GPL-2.0
/*
 * lh17_inversion_in_irq: lh07's inversion with the last step in the
 * interrupt. Process context makes lh17_ctrl_lock -> lh17_fifo_lock with
 * interrupts off and takes lh17_fifo_lock alone with hardirqs on; only then
 * does a hardirq handler take lh17_ctrl_lock, which makes it HARDIRQ-safe.
 * lockdep, from the interrupt: "possible irq lock inversion dependency
 * detected", classes lh17_ctrl_lock and lh17_fifo_lock.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh17_ctrl_lock);
static DEFINE_SPINLOCK(lh17_fifo_lock);
static int lh17_level;

static void lh17_irq_handler(void *unused)
{
	spin_lock(&lh17_ctrl_lock);	/* ctrl becomes HARDIRQ-safe now */
	lh17_level--;
	spin_unlock(&lh17_ctrl_lock);
}

static int __init lh17_init(void)
{
	unsigned long flags;

	lh_note("start");
	spin_lock_irqsave(&lh17_ctrl_lock, flags);
	spin_lock(&lh17_fifo_lock);
	lh17_level++;
	spin_unlock(&lh17_fifo_lock);
	spin_unlock_irqrestore(&lh17_ctrl_lock, flags);

	spin_lock(&lh17_fifo_lock);	/* HARDIRQ-unsafe */
	lh17_level++;
	spin_unlock(&lh17_fifo_lock);

	lh_in_hardirq(lh17_irq_handler, NULL);
	lh_note("done %d", lh17_level);
	return 0;
}

static void __exit lh17_exit(void) { }

module_init(lh17_init);
module_exit(lh17_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: irq lock inversion completed in hardirq");
