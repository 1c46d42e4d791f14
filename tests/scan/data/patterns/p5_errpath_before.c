/* an early return that keeps the mutex.
 * expect: missing_unlock */
#include "kpatterns.h"
struct dev5 { struct mutex lock; void *buf; int size; };
int dev5_resize(struct dev5 *d, int size)
{
	void *nb;
	mutex_lock(&d->lock);
	if (size <= 0)
		return -EINVAL;
	nb = kzalloc(size, GFP_KERNEL);
	if (!nb) {
		mutex_unlock(&d->lock);
		return -ENOMEM;
	}
	kfree(d->buf);
	d->buf = nb;
	d->size = size;
	mutex_unlock(&d->lock);
	return 0;
}
