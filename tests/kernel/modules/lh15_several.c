// SPDX-License-Identifier: GPL-2.0
/*
 * lh15_several: four independent problems in one module. lockdep reports the
 * first one and switches itself off; the lock trace still records all four.
 *   1. AB-BA on two mutexes:   lh15_net_mutex <-> lh15_disk_mutex (kthreads)
 *   2. AB-BA on two spinlocks: lh15_rx_lock <-> lh15_tx_lock      (kthreads)
 *   3. a three-lock cycle:     lh15_x_lock -> lh15_y_lock -> lh15_z_lock -> lh15_x_lock
 *   4. inconsistent lock state: lh15_timer_lock used in hardirq, then with
 *      plain spin_lock() and hardirqs on ({IN-HARDIRQ-W} -> {HARDIRQ-ON-W})
 * None of the classes is shared between problems, so each is its own finding.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include "lh_common.h"

static DEFINE_MUTEX(lh15_net_mutex);
static DEFINE_MUTEX(lh15_disk_mutex);
static DEFINE_SPINLOCK(lh15_rx_lock);
static DEFINE_SPINLOCK(lh15_tx_lock);
static DEFINE_SPINLOCK(lh15_x_lock);
static DEFINE_SPINLOCK(lh15_y_lock);
static DEFINE_SPINLOCK(lh15_z_lock);
static DEFINE_SPINLOCK(lh15_timer_lock);
static int lh15_count;

static void lh15_mutex_pair(void *arg)
{
	struct mutex **m = arg;

	mutex_lock(m[0]);
	mutex_lock(m[1]);
	lh15_count++;
	mutex_unlock(m[1]);
	mutex_unlock(m[0]);
}

static void lh15_spin_pair(void *arg)
{
	spinlock_t **s = arg;

	spin_lock(s[0]);
	spin_lock(s[1]);
	lh15_count++;
	spin_unlock(s[1]);
	spin_unlock(s[0]);
}

static void lh15_tick(void *unused)
{
	spin_lock(&lh15_timer_lock);
	lh15_count++;
	spin_unlock(&lh15_timer_lock);
}

static int __init lh15_init(void)
{
	struct mutex *nd[2] = { &lh15_net_mutex, &lh15_disk_mutex };
	struct mutex *dn[2] = { &lh15_disk_mutex, &lh15_net_mutex };
	spinlock_t *rt[2] = { &lh15_rx_lock, &lh15_tx_lock };
	spinlock_t *tr[2] = { &lh15_tx_lock, &lh15_rx_lock };
	spinlock_t *xy[2] = { &lh15_x_lock, &lh15_y_lock };
	spinlock_t *yz[2] = { &lh15_y_lock, &lh15_z_lock };
	spinlock_t *zx[2] = { &lh15_z_lock, &lh15_x_lock };

	lh_note("start");
	lh_in_thread("lh15_nd", lh15_mutex_pair, nd);
	lh_in_thread("lh15_dn", lh15_mutex_pair, dn);	/* problem 1: lockdep reports it */

	lh_in_thread("lh15_rt", lh15_spin_pair, rt);
	lh_in_thread("lh15_tr", lh15_spin_pair, tr);	/* problem 2 */

	lh_in_thread("lh15_xy", lh15_spin_pair, xy);
	lh_in_thread("lh15_yz", lh15_spin_pair, yz);
	lh_in_thread("lh15_zx", lh15_spin_pair, zx);	/* problem 3 */

	lh_in_hardirq(lh15_tick, NULL);
	spin_lock(&lh15_timer_lock);			/* problem 4 */
	lh15_count++;
	spin_unlock(&lh15_timer_lock);
	lh_note("done %d", lh15_count);
	return 0;
}

static void __exit lh15_exit(void) { }

module_init(lh15_init);
module_exit(lh15_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: several independent problems");
