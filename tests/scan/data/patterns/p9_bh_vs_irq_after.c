/* the same lock taken with spin_lock_irqsave outside the handler.
 * expect: nothing */
#include "kpatterns.h"
struct mii { spinlock_t lock; int irq; int reg; };
static irqreturn_t mii_irq(int irq, void *data)
{
	struct mii *m = data;
	spin_lock(&m->lock);
	m->reg = 0;
	spin_unlock(&m->lock);
	return IRQ_HANDLED;
}
int mii_probe(struct mii *m)
{
	spin_lock_init(&m->lock);
	return request_irq(m->irq, mii_irq, 0, "mii", m);
}
int mii_read(struct mii *m)
{
	int v;
	unsigned long flags;
	spin_lock_irqsave(&m->lock, flags);
	v = m->reg;
	spin_unlock_irqrestore(&m->lock, flags);
	return v;
}
