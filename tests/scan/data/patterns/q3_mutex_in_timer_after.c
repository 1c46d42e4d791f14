/* a spinlock in the timer callback.
 * expect: nothing */
#include "kpatterns.h"
struct q3 { spinlock_t lock; struct timer_list timer; int n; };
static void q3_tick(struct timer_list *t)
{
	struct q3 *q = from_timer(q, t, timer);
	spin_lock(&q->lock);
	q->n++;
	spin_unlock(&q->lock);
}
void q3_init(struct q3 *q)
{
	spin_lock_init(&q->lock);
	timer_setup(&q->timer, q3_tick, 0);
}
