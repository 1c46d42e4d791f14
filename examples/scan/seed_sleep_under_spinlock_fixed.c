/* The fix the seed recommends: a mutex for the long, sleeping section. Expected: clean. */
#include "kapi.h"

static DEFINE_MUTEX(cfg_lock);
static void *cfg;

void reconfigure(void)
{
	mutex_lock(&cfg_lock);
	kfree(cfg);
	cfg = kmalloc(256, GFP_KERNEL);
	msleep(10);
	mutex_unlock(&cfg_lock);
}
