/* spin_lock_bh in a timer callback and in process context.
 * expect: nothing */
#include "kpatterns.h"
struct t5 { spinlock_t lock; struct timer_list timer; int v; };
static void t5_tick(struct timer_list *tl)
{
	struct t5 *t = from_timer(t, tl, timer);
	spin_lock_bh(&t->lock);
	t->v++;
	spin_unlock_bh(&t->lock);
}
void t5_init(struct t5 *t)
{
	spin_lock_init(&t->lock);
	timer_setup(&t->timer, t5_tick, 0);
}
int t5_get(struct t5 *t)
{
	int v;
	spin_lock_bh(&t->lock);
	v = t->v;
	spin_unlock_bh(&t->lock);
	return v;
}
