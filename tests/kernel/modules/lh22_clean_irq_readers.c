// SPDX-License-Identifier: GPL-2.0
/*
 * lh22_clean_irq_readers: a cycle that is not a deadlock because one side is
 * a recursive reader. In interrupt context read_lock() never waits for a
 * queued writer, so lockdep treats it as a recursive read, and
 *   hardirq 1: read_lock(lh22_route_lock) -> lh22_stat_lock
 *   hardirq 2: lh22_stat_lock -> read_lock(lh22_route_lock)
 * cannot deadlock (two readers never exclude each other). lockdep stays
 * quiet; a tool that treated the reads as exclusive would see an AB-BA.
 * Both locks are only ever taken in hardirq context, so there is no irq
 * usage problem either.
 */
#include <linux/module.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_RWLOCK(lh22_route_lock);
static DEFINE_SPINLOCK(lh22_stat_lock);
static int lh22_routes = 4, lh22_lookups;

static void lh22_lookup(void *unused)
{
	read_lock(&lh22_route_lock);
	spin_lock(&lh22_stat_lock);
	lh22_lookups += lh22_routes;
	spin_unlock(&lh22_stat_lock);
	read_unlock(&lh22_route_lock);
}

static void lh22_account(void *unused)
{
	spin_lock(&lh22_stat_lock);
	read_lock(&lh22_route_lock);
	lh22_lookups++;
	read_unlock(&lh22_route_lock);
	spin_unlock(&lh22_stat_lock);
}

static int __init lh22_init(void)
{
	lh_note("start");
	lh_in_hardirq(lh22_lookup, NULL);
	lh_in_hardirq(lh22_account, NULL);
	lh_note("done %d", lh22_lookups);
	return 0;
}

static void __exit lh22_exit(void) { }

module_init(lh22_init);
module_exit(lh22_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: recursive readers in hardirq, no report expected");
