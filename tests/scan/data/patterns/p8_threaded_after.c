/* the mutex and the sleep only in the threaded handler, which runs in process context.
 * expect: nothing */
#include "kpatterns.h"
/* precision trap: the threaded handler runs in process context and may sleep */
struct dev8 { struct mutex lock; int irq; int events; };
static irqreturn_t dev8_hard(int irq, void *data)
{
	return IRQ_WAKE_THREAD;
}
static irqreturn_t dev8_thread(int irq, void *data)
{
	struct dev8 *d = data;
	mutex_lock(&d->lock);
	d->events++;
	msleep(1);
	mutex_unlock(&d->lock);
	return IRQ_HANDLED;
}
int dev8_probe(struct dev8 *d)
{
	mutex_init(&d->lock);
	return request_threaded_irq(d->irq, dev8_hard, dev8_thread, 0, "dev8", d);
}
