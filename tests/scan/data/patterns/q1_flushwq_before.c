/* flush_workqueue() under the mutex a work item queued on that workqueue takes.
 * expect: circular_dependency */
#include "kpatterns.h"
struct q1 { struct mutex lock; struct workqueue_struct *wq; struct work_struct work; int n; };
static void q1_work(struct work_struct *w)
{
	struct q1 *q = container_of(w, struct q1, work);
	mutex_lock(&q->lock);
	q->n++;
	mutex_unlock(&q->lock);
}
void q1_init(struct q1 *q)
{
	mutex_init(&q->lock);
	INIT_WORK(&q->work, q1_work);
	queue_work(q->wq, &q->work);
}
void q1_sync(struct q1 *q)
{
	mutex_lock(&q->lock);
	flush_workqueue(q->wq);
	q->n = 0;
	mutex_unlock(&q->lock);
}
