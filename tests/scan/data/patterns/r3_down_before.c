/* a semaphore's down() under a spinlock.
 * expect: invalid_wait_context */
#include "kpatterns.h"
struct r3 { spinlock_t lock; struct semaphore sem; int v; };
void r3_go(struct r3 *r)
{
	spin_lock(&r->lock);
	down(&r->sem);
	r->v++;
	up(&r->sem);
	spin_unlock(&r->lock);
}
