/* Seed "Linux Kernel Deadlock in Interrupt Context Due to Improper Spinlock Usage": the interrupt
 * handler takes lock1 and calls a function that takes lock2, while process context takes lock2
 * with interrupts enabled. If the interrupt arrives on the CPU that holds lock2, the handler
 * spins on it forever.
 * Expected: inconsistent_lock_state on lock2 (taken in hardirq context via irq_handler ->
 * update_stats, and with hardirqs on in some_function). */
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
	update_stats();		/* risky: takes lock2 inside the handler */
	spin_unlock(&lock1);
	return IRQ_HANDLED;
}

/* process context */
void some_function(void)
{
	spin_lock(&lock2);	/* interrupts still enabled */
	total = 0;
	spin_unlock(&lock2);
}

int seed_probe(unsigned int irq)
{
	return request_irq(irq, irq_handler, 0, "seed", NULL);
}
