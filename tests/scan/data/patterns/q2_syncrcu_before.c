/* synchronize_rcu() under a spinlock.
 * expect: sleeping_in_invalid_context */
#include "kpatterns.h"
struct q2 { spinlock_t lock; void *ptr; };
void q2_replace(struct q2 *q, void *n)
{
	void *old;
	spin_lock(&q->lock);
	old = q->ptr;
	q->ptr = n;
	synchronize_rcu();
	spin_unlock(&q->lock);
	kfree(old);
}
