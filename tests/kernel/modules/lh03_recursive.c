// SPDX-License-Identifier: GPL-2.0
/*
 * lh03_recursive: two objects whose mutexes share one lock class (both are
 * initialised at the same mutex_init() site) are nested without a
 * mutex_lock_nested() annotation.
 * lockdep: "possible recursive locking detected", class &lh03o->lock.
 * The two instances differ, so nothing hangs.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include "lh_common.h"

struct lh03_account {
	struct mutex lock;
	long balance;
};

static struct lh03_account lh03_accounts[2];

static void lh03_account_init(struct lh03_account *lh03o, long balance)
{
	mutex_init(&lh03o->lock);
	lh03o->balance = balance;
}

static void lh03_transfer(struct lh03_account *from, struct lh03_account *to, long amount)
{
	mutex_lock(&from->lock);
	mutex_lock(&to->lock);		/* same class, no subclass */
	from->balance -= amount;
	to->balance += amount;
	mutex_unlock(&to->lock);
	mutex_unlock(&from->lock);
}

static int __init lh03_init(void)
{
	lh_note("start");
	lh03_account_init(&lh03_accounts[0], 100);
	lh03_account_init(&lh03_accounts[1], 0);
	lh03_transfer(&lh03_accounts[0], &lh03_accounts[1], 40);
	lh_note("done %ld/%ld", lh03_accounts[0].balance, lh03_accounts[1].balance);
	return 0;
}

static void __exit lh03_exit(void) { }

module_init(lh03_init);
module_exit(lh03_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: recursive locking of one class");
