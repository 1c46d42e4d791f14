// SPDX-License-Identifier: GPL-2.0
/*
 * lh20_clean_nesting: correct locking that lockdep accepts without a word.
 *  - two kernel threads run at the same time and both take
 *    lh20_bus_mutex -> lh20_dev_mutex -> lh20_reg_lock (one global order),
 *    sometimes a suffix of it, with lh20_cfg_rwsem read inside;
 *  - a parent and a child object of one class nest with mutex_lock_nested()
 *    and spin_lock_nested() (SINGLE_DEPTH_NESTING);
 *  - the reverse order taken with a trylock, which cannot deadlock.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_MUTEX(lh20_bus_mutex);
static DEFINE_MUTEX(lh20_dev_mutex);
static DEFINE_SPINLOCK(lh20_reg_lock);
static DECLARE_RWSEM(lh20_cfg_rwsem);
static unsigned long lh20_ops;

struct lh20_node {
	struct mutex mlock;
	spinlock_t slock;
	int depth;
};

static struct lh20_node lh20_parent, lh20_child;

static void lh20_node_init(struct lh20_node *lh20n, int depth)
{
	mutex_init(&lh20n->mlock);
	spin_lock_init(&lh20n->slock);
	lh20n->depth = depth;
}

static void lh20_ordered(void *unused)
{
	int i;

	for (i = 0; i < 50; i++) {
		mutex_lock(&lh20_bus_mutex);
		mutex_lock(&lh20_dev_mutex);
		down_read(&lh20_cfg_rwsem);
		spin_lock(&lh20_reg_lock);
		lh20_ops++;
		udelay(5);
		spin_unlock(&lh20_reg_lock);
		up_read(&lh20_cfg_rwsem);
		mutex_unlock(&lh20_dev_mutex);
		mutex_unlock(&lh20_bus_mutex);

		mutex_lock(&lh20_dev_mutex);
		spin_lock(&lh20_reg_lock);
		lh20_ops++;
		spin_unlock(&lh20_reg_lock);
		mutex_unlock(&lh20_dev_mutex);
		cond_resched();
	}
}

static int lh20_thread(void *done)
{
	lh20_ordered(NULL);
	complete(done);
	return 0;
}

static void lh20_nested(void)
{
	mutex_lock(&lh20_parent.mlock);
	mutex_lock_nested(&lh20_child.mlock, SINGLE_DEPTH_NESTING);
	spin_lock(&lh20_parent.slock);
	spin_lock_nested(&lh20_child.slock, SINGLE_DEPTH_NESTING);
	lh20_child.depth = lh20_parent.depth + 1;
	spin_unlock(&lh20_child.slock);
	spin_unlock(&lh20_parent.slock);
	mutex_unlock(&lh20_child.mlock);
	mutex_unlock(&lh20_parent.mlock);
}

static void lh20_reverse_trylock(void)
{
	/* dev -> bus only as a trylock, backing off when it fails */
	mutex_lock(&lh20_dev_mutex);
	if (mutex_trylock(&lh20_bus_mutex)) {
		lh20_ops++;
		mutex_unlock(&lh20_bus_mutex);
	}
	mutex_unlock(&lh20_dev_mutex);
}

static int __init lh20_init(void)
{
	DECLARE_COMPLETION_ONSTACK(other_done);
	struct task_struct *other;

	lh_note("start");
	lh20_node_init(&lh20_parent, 0);
	lh20_node_init(&lh20_child, 0);
	/* a second thread running the same order concurrently */
	other = kthread_run(lh20_thread, &other_done, "lh20_other");
	if (!IS_ERR(other)) {
		lh_in_thread("lh20_main", lh20_ordered, NULL);
		wait_for_completion(&other_done);
	}
	lh20_nested();
	lh20_reverse_trylock();
	down_write(&lh20_cfg_rwsem);
	lh20_ops++;
	up_write(&lh20_cfg_rwsem);
	lh_note("done %lu", lh20_ops);
	return 0;
}

static void __exit lh20_exit(void) { }

module_init(lh20_init);
module_exit(lh20_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: clean nesting and ordering");
