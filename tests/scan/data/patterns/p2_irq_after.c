/* process context takes it with spin_lock_irqsave.
 * expect: nothing */
#include "kpatterns.h"
struct bar { spinlock_t lock; int count; int irq; };
static irqreturn_t bar_irq(int irq, void *data)
{
	struct bar *b = data;
	spin_lock(&b->lock);
	b->count++;
	spin_unlock(&b->lock);
	return IRQ_HANDLED;
}
int bar_probe(struct bar *b)
{
	spin_lock_init(&b->lock);
	return request_irq(b->irq, bar_irq, 0, "bar", b);
}
int bar_read(struct bar *b)
{
	int v;
	unsigned long flags;
	spin_lock_irqsave(&b->lock, flags);
	v = b->count;
	spin_unlock_irqrestore(&b->lock, flags);
	return v;
}
