/* the mutex taken before the spinlock.
 * expect: nothing */
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
	ret = qux_apply(q, mode);
	spin_lock_irqsave(&q->lock, flags);
	q->mode = mode;
	spin_unlock_irqrestore(&q->lock, flags);
	return ret;
}
