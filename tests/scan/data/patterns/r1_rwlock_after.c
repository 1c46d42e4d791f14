/* written with write_lock_bh.
 * expect: nothing */
#include "kpatterns.h"
struct r1 { rwlock_t lock; struct timer_list timer; int v; };
static void r1_tick(struct timer_list *t)
{
	struct r1 *r = from_timer(r, t, timer);
	read_lock(&r->lock);
	r->v++;
	read_unlock(&r->lock);
}
void r1_init(struct r1 *r)
{
	rwlock_init(&r->lock);
	timer_setup(&r->timer, r1_tick, 0);
}
void r1_set(struct r1 *r, int v)
{
	write_lock_bh(&r->lock);
	r->v = v;
	write_unlock_bh(&r->lock);
}
