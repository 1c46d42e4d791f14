// SPDX-License-Identifier: GPL-2.0
/*
 * lh09_wait_context: a mutex (a sleeping lock, wait type 3) is taken while a
 * spinlock (wait type 2) is held. The mutex is free, so nothing sleeps, but
 * it could.
 * lockdep: "[ BUG: Invalid wait context ]", lh09_sess_mutex {3:3} taken in
 * context {2:2} under lh09_table_lock. mutex_lock() calls might_sleep() first,
 * so DEBUG_ATOMIC_SLEEP also prints "sleeping function called from invalid
 * context" just before.
 * (Without CONFIG_PROVE_RAW_LOCK_NESTING a spinlock_t under a raw_spinlock_t
 * is not reported, so the sleeping lock is the way to get this report here.)
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_SPINLOCK(lh09_table_lock);
static DEFINE_MUTEX(lh09_sess_mutex);
static int lh09_sessions;

static int __init lh09_init(void)
{
	lh_note("start");
	spin_lock(&lh09_table_lock);
	mutex_lock(&lh09_sess_mutex);	/* sleeping lock under a spinning one */
	lh09_sessions++;
	mutex_unlock(&lh09_sess_mutex);
	spin_unlock(&lh09_table_lock);
	lh_note("done %d", lh09_sessions);
	return 0;
}

static void __exit lh09_exit(void) { }

module_init(lh09_init);
module_exit(lh09_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: invalid wait context");
