/* the grace period waited for after the unlock.
 * expect: nothing */
#include "kpatterns.h"
struct q2 { spinlock_t lock; void *ptr; };
void q2_replace(struct q2 *q, void *n)
{
	void *old;
	spin_lock(&q->lock);
	old = q->ptr;
	q->ptr = n;
	spin_unlock(&q->lock);
	synchronize_rcu();
	kfree(old);
}
