/* the delayed work cancelled before the mutex is taken.
 * expect: nothing */
#include "kpatterns.h"
struct q4 { struct mutex lock; struct delayed_work dwork; int n; };
static void q4_poll(struct work_struct *w)
{
	struct q4 *q = container_of(to_delayed_work(w), struct q4, dwork);
	mutex_lock(&q->lock);
	q->n++;
	mutex_unlock(&q->lock);
	schedule_delayed_work(&q->dwork, 100);
}
void q4_init(struct q4 *q)
{
	mutex_init(&q->lock);
	INIT_DELAYED_WORK(&q->dwork, q4_poll);
}
void q4_stop(struct q4 *q)
{
	cancel_delayed_work_sync(&q->dwork);
	mutex_lock(&q->lock);
	q->n = 0;
	mutex_unlock(&q->lock);
}
