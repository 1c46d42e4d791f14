// SPDX-License-Identifier: GPL-2.0
/*
 * lh04_hardirq_state: lh04_ring_lock is first taken with plain spin_lock()
 * in process context with hardirqs enabled, then by a hardirq handler (an
 * hrtimer in HARD mode).
 * lockdep, from the interrupt: "inconsistent lock state",
 * "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.", class lh04_ring_lock.
 * The process-context section has ended when the timer fires: no hang.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh04_ring_lock);
static unsigned int lh04_head, lh04_tail;

static void lh04_irq_consume(void *unused)
{
	spin_lock(&lh04_ring_lock);
	lh04_tail = lh04_head;
	spin_unlock(&lh04_ring_lock);
}

static int __init lh04_init(void)
{
	lh_note("start");
	spin_lock(&lh04_ring_lock);	/* should be spin_lock_irqsave() */
	lh04_head++;
	spin_unlock(&lh04_ring_lock);
	lh_in_hardirq(lh04_irq_consume, NULL);
	lh_note("done %u", lh04_tail);
	return 0;
}

static void __exit lh04_exit(void) { }

module_init(lh04_init);
module_exit(lh04_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: HARDIRQ-ON-W -> IN-HARDIRQ-W");
