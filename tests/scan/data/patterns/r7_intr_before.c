/* an early return after mutex_lock_interruptible() succeeded.
 * expect: missing_unlock */
#include "kpatterns.h"
struct r7 { struct mutex lock; int v; };
int r7_write(struct r7 *r, int v)
{
	if (mutex_lock_interruptible(&r->lock))
		return -EINTR;
	if (v < 0)
		return -EINVAL;
	r->v = v;
	mutex_unlock(&r->lock);
	return 0;
}
