/* local_bh_disable() around a plain spin_lock of a lock the timer takes.
 * expect: nothing */
#include "kpatterns.h"
struct r6 { spinlock_t lock; struct timer_list timer; int v; };
static void r6_tick(struct timer_list *t)
{
	struct r6 *r = from_timer(r, t, timer);
	spin_lock(&r->lock);
	r->v++;
	spin_unlock(&r->lock);
}
void r6_init(struct r6 *r)
{
	spin_lock_init(&r->lock);
	timer_setup(&r->timer, r6_tick, 0);
}
void r6_set(struct r6 *r, int v)
{
	local_bh_disable();
	spin_lock(&r->lock);
	r->v = v;
	spin_unlock(&r->lock);
	local_bh_enable();
}
