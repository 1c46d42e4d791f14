/* copied out under the lock, to user space after it.
 * expect: nothing */
#include "kpatterns.h"
struct dev7 { spinlock_t lock; char data[64]; };
long dev7_read(struct dev7 *d, char __user *ubuf)
{
	long ret = 0;
	char tmp[64];
	spin_lock(&d->lock);
	memcpy(tmp, d->data, sizeof(tmp));
	spin_unlock(&d->lock);
	if (copy_to_user(ubuf, tmp, sizeof(tmp)))
		ret = -EFAULT;
	return ret;
}
