/* a mutex in a timer callback (softirq).
 * expect: invalid_wait_context */
#include "kpatterns.h"
struct q3 { struct mutex lock; struct timer_list timer; int n; };
static void q3_tick(struct timer_list *t)
{
	struct q3 *q = from_timer(q, t, timer);
	mutex_lock(&q->lock);
	q->n++;
	mutex_unlock(&q->lock);
}
void q3_init(struct q3 *q)
{
	mutex_init(&q->lock);
	timer_setup(&q->timer, q3_tick, 0);
}
