/* copy_to_user() (may fault and sleep) under a spinlock.
 * expect: sleeping_in_invalid_context */
#include "kpatterns.h"
struct dev7 { spinlock_t lock; char data[64]; };
long dev7_read(struct dev7 *d, char __user *ubuf)
{
	long ret = 0;
	spin_lock(&d->lock);
	if (copy_to_user(ubuf, d->data, sizeof(d->data)))
		ret = -EFAULT;
	spin_unlock(&d->lock);
	return ret;
}
