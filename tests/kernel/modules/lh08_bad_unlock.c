// SPDX-License-Identifier: GPL-2.0
/*
 * lh08_bad_unlock: an error path unlocks lh08_cfg_mutex a second time.
 * lockdep: "bad unlock balance detected!", class lh08_cfg_mutex.
 * A mutex (not a spinlock) so that the extra unlock leaves the preempt
 * count alone and the guest goes on normally.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include "lh_common.h"

static DEFINE_MUTEX(lh08_cfg_mutex);
static int lh08_value;

static int lh08_update(int v)
{
	mutex_lock(&lh08_cfg_mutex);
	if (v < 0)
		goto fail;
	lh08_value = v;
	mutex_unlock(&lh08_cfg_mutex);
	return 0;
fail:
	mutex_unlock(&lh08_cfg_mutex);
	return -EINVAL;
}

static int __init lh08_init(void)
{
	lh_note("start");
	if (lh08_update(-1))
		mutex_unlock(&lh08_cfg_mutex);	/* the caller "cleans up" again */
	lh_note("done %d", lh08_value);
	return 0;
}

static void __exit lh08_exit(void) { }

module_init(lh08_init);
module_exit(lh08_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: bad unlock balance");
