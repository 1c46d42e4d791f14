/* The fixed twin of seed_irq_spinlock.c (the seed's step 2): process context takes lock2 with
 * spin_lock_irqsave(), so the interrupt cannot arrive while it holds it. Expected: clean. */
#include "kapi.h"

static DEFINE_SPINLOCK(lock1);
static DEFINE_SPINLOCK(lock2);
static unsigned long events, total;

static void update_stats(void)
{
	spin_lock(&lock2);
	total++;
	spin_unlock(&lock2);
}

static irqreturn_t irq_handler(int irq, void *dev)
{
	spin_lock(&lock1);
	events++;
	update_stats();
	spin_unlock(&lock1);
	return IRQ_HANDLED;
}

void some_function(void)
{
	unsigned long flags;

	spin_lock_irqsave(&lock2, flags);
	total = 0;
	spin_unlock_irqrestore(&lock2, flags);
}

int seed_probe(unsigned int irq)
{
	return request_irq(irq, irq_handler, 0, "seed", NULL);
}
