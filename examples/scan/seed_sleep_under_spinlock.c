/* Seed advice "use mutexes for long-running locks": a critical section that sleeps must not be
 * under a spinlock. Expected: sleeping_in_invalid_context on cfg_lock (msleep and a GFP_KERNEL
 * allocation in reconfigure). */
#include "kapi.h"

static DEFINE_SPINLOCK(cfg_lock);
static void *cfg;

void reconfigure(void)
{
	spin_lock(&cfg_lock);
	kfree(cfg);
	cfg = kmalloc(256, GFP_KERNEL);	/* may sleep in direct reclaim */
	msleep(10);			/* let the hardware settle */
	spin_unlock(&cfg_lock);
}
