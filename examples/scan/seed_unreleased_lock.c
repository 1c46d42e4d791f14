/* Seed root cause "failure to release locks before exiting critical sections": an error path
 * returns with the lock held. Expected: missing_unlock on dev_lock in set_mode. */
#include "kapi.h"

static DEFINE_SPINLOCK(dev_lock);
static int mode;

int set_mode(int m)
{
	spin_lock(&dev_lock);
	if (m < 0)
		return -22;	/* -EINVAL, lock still held */
	mode = m;
	spin_unlock(&dev_lock);
	return 0;
}
