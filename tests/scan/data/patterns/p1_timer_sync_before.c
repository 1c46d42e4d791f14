/* del_timer_sync() under the lock the timer callback takes: the wait and the callback deadlock.
 * expect: circular_dependency */
#include "kpatterns.h"
struct foo { spinlock_t lock; struct timer_list timer; int pending; };
static void foo_timeout(struct timer_list *t)
{
	struct foo *f = from_timer(f, t, timer);
	spin_lock(&f->lock);
	f->pending = 0;
	spin_unlock(&f->lock);
}
int foo_init(struct foo *f)
{
	spin_lock_init(&f->lock);
	timer_setup(&f->timer, foo_timeout, 0);
	return 0;
}
void foo_stop(struct foo *f)
{
	spin_lock_bh(&f->lock);
	f->pending = 0;
	del_timer_sync(&f->timer);
	spin_unlock_bh(&f->lock);
}
