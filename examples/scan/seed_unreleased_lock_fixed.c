/* The fix: every path leaves through one unlock (the kernel's `goto out` style). Expected: clean. */
#include "kapi.h"

static DEFINE_SPINLOCK(dev_lock);
static int mode;

int set_mode(int m)
{
	int ret = 0;

	spin_lock(&dev_lock);
	if (m < 0) {
		ret = -22;
		goto out;
	}
	mode = m;
out:
	spin_unlock(&dev_lock);
	return ret;
}
