/* a trylock in the interrupt handler (it gives up rather than spin) and a plain lock in process context.
 * expect: nothing */
#include "kpatterns.h"
struct r5 { spinlock_t lock; int irq; int v; };
static irqreturn_t r5_irq(int irq, void *data)
{
	struct r5 *r = data;
	if (!spin_trylock(&r->lock))
		return IRQ_NONE;
	r->v++;
	spin_unlock(&r->lock);
	return IRQ_HANDLED;
}
int r5_probe(struct r5 *r)
{
	spin_lock_init(&r->lock);
	return request_irq(r->irq, r5_irq, 0, "r5", r);
}
void r5_reset(struct r5 *r)
{
	spin_lock(&r->lock);
	r->v = 0;
	spin_unlock(&r->lock);
}
