/* wait_for_completion() under a spinlock.
 * expect: sleeping_in_invalid_context */
#include "kpatterns.h"
struct dev6 { spinlock_t lock; struct completion done; int busy; };
int dev6_wait(struct dev6 *d)
{
	spin_lock(&d->lock);
	d->busy = 1;
	wait_for_completion(&d->done);
	d->busy = 0;
	spin_unlock(&d->lock);
	return 0;
}
