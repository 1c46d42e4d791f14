/* disable_irq_nosync() in the handler.
 * expect: nothing */
#include "kpatterns.h"
struct q6 { int irq; int n; };
static irqreturn_t q6_irq(int irq, void *data)
{
	struct q6 *q = data;
	q->n++;
	if (q->n > 100)
		disable_irq_nosync(q->irq);
	return IRQ_HANDLED;
}
int q6_probe(struct q6 *q)
{
	return request_irq(q->irq, q6_irq, 0, "q6", q);
}
