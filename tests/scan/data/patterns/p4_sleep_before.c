/* a mutex taken one call down, under a spinlock with interrupts off.
 * expect: invalid_wait_context */
#include "kpatterns.h"
struct qux { spinlock_t lock; struct mutex cfg_lock; int mode; };
static int qux_apply(struct qux *q, int mode)
{
	mutex_lock(&q->cfg_lock);
	q->mode = mode;
	mutex_unlock(&q->cfg_lock);
	return 0;
}
int qux_set(struct qux *q, int mode)
{
	unsigned long flags;
	int ret;
	spin_lock_irqsave(&q->lock, flags);
	ret = qux_apply(q, mode);
	spin_unlock_irqrestore(&q->lock, flags);
	return ret;
}
