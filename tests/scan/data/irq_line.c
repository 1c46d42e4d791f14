/* A transmit path that turns its device's interrupt line off around the section its handler's
 * lock guards (lib8390's __ei_start_xmit): the handler cannot interrupt it, clean. A path that
 * takes the handler's other lock without the line turned off (bad_xmit) is an inconsistent lock
 * state. */
#include "kops.h"

struct nic { spinlock_t page_lock, stats_lock; int irq; int reg; };
void disable_irq_nosync_lockdep_irqsave(unsigned int irq, unsigned long *flags);
void enable_irq_lockdep_irqrestore(unsigned int irq, unsigned long *flags);

static irqreturn_t nic_interrupt(int irq, void *dev_id)
{
	struct nic *n = dev_id;
	spin_lock(&n->page_lock);
	n->reg = 0;
	spin_unlock(&n->page_lock);
	spin_lock(&n->stats_lock);
	n->reg++;
	spin_unlock(&n->stats_lock);
	return IRQ_HANDLED;
}

int ok_xmit(struct nic *n)
{
	unsigned long flags;
	disable_irq_nosync_lockdep_irqsave(n->irq, &flags);
	spin_lock(&n->page_lock);
	n->reg = 1;
	spin_unlock(&n->page_lock);
	enable_irq_lockdep_irqrestore(n->irq, &flags);
	return 0;
}

int bad_xmit(struct nic *n)
{
	spin_lock(&n->stats_lock);
	n->reg = 2;
	spin_unlock(&n->stats_lock);
	return 0;
}

int nic_open(struct nic *n)
{
	return request_irq(n->irq, nic_interrupt, 0, "nic", n);
}
