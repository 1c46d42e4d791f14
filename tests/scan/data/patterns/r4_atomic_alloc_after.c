/* a GFP_ATOMIC allocation and kfree() under a spinlock.
 * expect: nothing */
#include "kpatterns.h"
struct r4 { spinlock_t lock; void *buf; };
int r4_fill(struct r4 *r)
{
	void *old;
	spin_lock(&r->lock);
	old = r->buf;
	r->buf = kmalloc(64, GFP_ATOMIC);
	kfree(old);
	spin_unlock(&r->lock);
	return r->buf ? 0 : -ENOMEM;
}
