// SPDX-License-Identifier: GPL-2.0
/*
 * lh12_user_return: module_init returns to insmod with lh12_busy_mutex still
 * locked, so the finit_module() system call goes back to user space holding
 * it. lockdep: "lock held when returning to user space!", class
 * lh12_busy_mutex, task insmod. Nothing else ever takes that mutex.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include "lh_common.h"

static DEFINE_MUTEX(lh12_busy_mutex);
static int lh12_users;

static int __init lh12_init(void)
{
	lh_note("start");
	mutex_lock(&lh12_busy_mutex);
	lh12_users++;
	/* forgot mutex_unlock() */
	lh_note("done %d", lh12_users);
	return 0;
}

static void __exit lh12_exit(void) { }

module_init(lh12_init);
module_exit(lh12_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: lock held returning to user space");
