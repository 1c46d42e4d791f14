/* an interrupt-safe lock held while taking a lock that is taken elsewhere with interrupts on.
 * expect: irq_safe_unsafe_order */
#include "kpatterns.h"
struct s1 { spinlock_t irq_lock; spinlock_t cfg_lock; int irq; int v; };
static irqreturn_t s1_irq(int irq, void *data)
{
	struct s1 *s = data;
	spin_lock(&s->irq_lock);
	s->v++;
	spin_unlock(&s->irq_lock);
	return IRQ_HANDLED;
}
int s1_probe(struct s1 *s)
{
	spin_lock_init(&s->irq_lock);
	spin_lock_init(&s->cfg_lock);
	return request_irq(s->irq, s1_irq, 0, "s1", s);
}
void s1_update(struct s1 *s)
{
	unsigned long flags;
	spin_lock_irqsave(&s->irq_lock, flags);
	spin_lock(&s->cfg_lock);
	s->v = 0;
	spin_unlock(&s->cfg_lock);
	spin_unlock_irqrestore(&s->irq_lock, flags);
}
void s1_cfg(struct s1 *s)
{
	spin_lock(&s->cfg_lock);
	s->v = 1;
	spin_unlock(&s->cfg_lock);
}
