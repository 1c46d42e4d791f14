// SPDX-License-Identifier: GPL-2.0
/*
 * lh13_nest_lock: mutex_lock_nest_lock() names lh13_table_mutex as the lock
 * that serialises the nesting of the per-entry mutexes, but the caller does
 * not hold it. lockdep: "Nested lock was not taken", class &lh13e->lock.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include "lh_common.h"

struct lh13_entry {
	struct mutex lock;
	int hits;
};

static DEFINE_MUTEX(lh13_table_mutex);
static struct lh13_entry lh13_entries[2];

static void lh13_entry_init(struct lh13_entry *lh13e)
{
	mutex_init(&lh13e->lock);
	lh13e->hits = 0;
}

static int __init lh13_init(void)
{
	lh_note("start");
	lh13_entry_init(&lh13_entries[0]);
	lh13_entry_init(&lh13_entries[1]);
	/* mutex_lock(&lh13_table_mutex) missing */
	mutex_lock_nest_lock(&lh13_entries[0].lock, &lh13_table_mutex);
	lh13_entries[0].hits++;
	mutex_unlock(&lh13_entries[0].lock);
	lh_note("done %d", lh13_entries[0].hits);
	return 0;
}

static void __exit lh13_exit(void) { }

module_init(lh13_init);
module_exit(lh13_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: nest_lock not held");
