// SPDX-License-Identifier: GPL-2.0
/*
 * lh14_exit_held: a kernel thread exits while it still holds
 * lh14_worker_mutex. lockdep (do_exit): "lh14_exit/PID still has locks held!",
 * class lh14_worker_mutex. Nothing else takes the mutex afterwards.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include "lh_common.h"

static DEFINE_MUTEX(lh14_worker_mutex);
static int lh14_jobs;

static void lh14_work(void *unused)
{
	mutex_lock(&lh14_worker_mutex);
	lh14_jobs++;
	/* returns, and the thread exits, without mutex_unlock() */
}

static int __init lh14_init(void)
{
	lh_note("start");
	lh_in_thread("lh14_exit", lh14_work, NULL);
	/* the thread prints its report after waking us: keep the console quiet */
	msleep(200);
	lh_note("done %d", lh14_jobs);
	return 0;
}

static void __exit lh14_exit(void) { }

module_init(lh14_init);
module_exit(lh14_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: thread exits holding a lock");
