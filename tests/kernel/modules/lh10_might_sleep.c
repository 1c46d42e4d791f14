// SPDX-License-Identifier: GPL-2.0
/*
 * lh10_might_sleep: kmalloc(GFP_KERNEL) (which may sleep to reclaim memory)
 * under a spinlock. The allocation is small and memory is plentiful, so it
 * does not actually sleep; DEBUG_ATOMIC_SLEEP's might_sleep() check reports
 * it anyway: "BUG: sleeping function called from invalid context", with
 * lh10_pool_lock among the held locks. lockdep itself stays on.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh10_pool_lock);
static void *lh10_slot;

static int __init lh10_init(void)
{
	void *buf;

	lh_note("start");
	spin_lock(&lh10_pool_lock);
	buf = kmalloc(64, GFP_KERNEL);	/* should be GFP_ATOMIC */
	lh10_slot = buf;
	spin_unlock(&lh10_pool_lock);
	kfree(lh10_slot);
	lh_note("done");
	return 0;
}

static void __exit lh10_exit(void) { }

module_init(lh10_init);
module_exit(lh10_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: sleeping call under a spinlock");
