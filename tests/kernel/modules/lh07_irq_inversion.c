// SPDX-License-Identifier: GPL-2.0
/*
 * lh07_irq_inversion: the same two kinds of lock as lh06, but the usage that
 * closes the problem comes last: lh07_dev_lock is HARDIRQ-safe (used in a
 * hardirq handler), the dependency lh07_dev_lock -> lh07_buf_lock is made
 * with interrupts off, and only afterwards lh07_buf_lock is taken with
 * hardirqs enabled.
 * lockdep: "possible irq lock inversion dependency detected",
 * classes lh07_buf_lock (just became HARDIRQ-unsafe) and lh07_dev_lock.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh07_dev_lock);
static DEFINE_SPINLOCK(lh07_buf_lock);
static int lh07_irqs, lh07_bytes;

static void lh07_irq_handler(void *unused)
{
	spin_lock(&lh07_dev_lock);
	lh07_irqs++;
	spin_unlock(&lh07_dev_lock);
}

static int __init lh07_init(void)
{
	unsigned long flags;

	lh_note("start");
	lh_in_hardirq(lh07_irq_handler, NULL);

	spin_lock_irqsave(&lh07_dev_lock, flags);
	spin_lock(&lh07_buf_lock);		/* irqs off: no usage problem yet */
	lh07_bytes += lh07_irqs;
	spin_unlock(&lh07_buf_lock);
	spin_unlock_irqrestore(&lh07_dev_lock, flags);

	spin_lock(&lh07_buf_lock);		/* now HARDIRQ-unsafe */
	lh07_bytes++;
	spin_unlock(&lh07_buf_lock);
	lh_note("done %d", lh07_bytes);
	return 0;
}

static void __exit lh07_exit(void) { }

module_init(lh07_init);
module_exit(lh07_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: irq lock inversion");
