// SPDX-License-Identifier: GPL-2.0
/*
 * lh02_cycle3: a cycle through three mutexes, one edge per kernel thread:
 *   lh02_t1: lh02_dev_mutex -> lh02_cfg_mutex
 *   lh02_t2: lh02_cfg_mutex -> lh02_log_mutex
 *   lh02_t3: lh02_log_mutex -> lh02_dev_mutex   (closes the cycle)
 * No two of them deadlock alone; lockdep reports the three-lock
 * "possible circular locking dependency detected" in lh02_t3.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include "lh_common.h"

static DEFINE_MUTEX(lh02_dev_mutex);
static DEFINE_MUTEX(lh02_cfg_mutex);
static DEFINE_MUTEX(lh02_log_mutex);
static int lh02_state;

struct lh02_pair {
	struct mutex *outer;
	struct mutex *inner;
};

static void lh02_nest(void *arg)
{
	const struct lh02_pair *p = arg;

	mutex_lock(p->outer);
	mutex_lock(p->inner);
	lh02_state++;
	mutex_unlock(p->inner);
	mutex_unlock(p->outer);
}

static int __init lh02_init(void)
{
	struct lh02_pair t1 = { &lh02_dev_mutex, &lh02_cfg_mutex };
	struct lh02_pair t2 = { &lh02_cfg_mutex, &lh02_log_mutex };
	struct lh02_pair t3 = { &lh02_log_mutex, &lh02_dev_mutex };

	lh_note("start");
	lh_in_thread("lh02_t1", lh02_nest, &t1);
	lh_in_thread("lh02_t2", lh02_nest, &t2);
	lh_in_thread("lh02_t3", lh02_nest, &t3);
	lh_note("done %d", lh02_state);
	return 0;
}

static void __exit lh02_exit(void) { }

module_init(lh02_init);
module_exit(lh02_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: three-mutex cycle");
