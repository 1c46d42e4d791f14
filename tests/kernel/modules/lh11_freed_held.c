// SPDX-License-Identifier: GPL-2.0
/*
 * lh11_freed_held: a kernel thread frees the page holding an object whose
 * mutex it still holds.
 * lockdep: "held lock freed!", class &lh11o->lock.
 * The mutex is never touched again (no unlock of freed memory): lockdep has
 * switched itself off by then, so the thread can exit "holding" it. A mutex,
 * not a spinlock, so that the preempt count stays balanced. The page
 * allocator is used because this tinyconfig kernel has SLOB, whose kfree()
 * does not check for held locks.
 */
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include "lh_common.h"

struct lh11_session {
	struct mutex lock;
	int refs;
};

static void lh11_session_init(struct lh11_session *lh11o)
{
	mutex_init(&lh11o->lock);
	lh11o->refs = 1;
}

static void lh11_close(void *unused)
{
	struct lh11_session *s = (void *)__get_free_page(GFP_KERNEL);

	if (!s)
		return;
	lh11_session_init(s);
	mutex_lock(&s->lock);
	s->refs--;
	free_page((unsigned long)s);	/* still locked */
}

static int __init lh11_init(void)
{
	lh_note("start");
	lh_in_thread("lh11_close", lh11_close, NULL);
	lh_note("done");
	return 0;
}

static void __exit lh11_exit(void) { }

module_init(lh11_init);
module_exit(lh11_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound kernel test: held lock freed");
