/* lock and unlock under the same condition.
 * expect: nothing */
#include "kpatterns.h"
struct t1 { spinlock_t lock; int v; };
void t1_update(struct t1 *t, bool need_lock)
{
	unsigned long flags = 0;
	if (need_lock)
		spin_lock_irqsave(&t->lock, flags);
	t->v++;
	if (need_lock)
		spin_unlock_irqrestore(&t->lock, flags);
}
