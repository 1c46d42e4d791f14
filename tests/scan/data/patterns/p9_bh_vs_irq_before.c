/* a lock the interrupt handler takes, taken elsewhere with spin_lock_bh (softirqs off, hardirqs on).
 * expect: inconsistent_lock_state */
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
	spin_lock_bh(&m->lock);
	v = m->reg;
	spin_unlock_bh(&m->lock);
	return v;
}
