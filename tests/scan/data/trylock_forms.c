/* Trylock results as drivers test them. Each function releases the lock exactly on the paths
 * that took it: no missing_unlock, no bad_unlock_balance. leak_kept() forgets the unlock on one
 * path (missing_unlock), the control that the result is tracked at all.
 * try_irqsave_hw() takes dev_lock (the interrupt handler's) inside a successful
 * spin_trylock_irqsave(): interrupts are off there (the failing arm of the macro restores them,
 * but that arm never enters the block), so it is safe. hw_unsafe() takes hw_lock, also the
 * handler's, with interrupts on (inconsistent_lock_state, the control that the handler is seen). */
#include "kops.h"

struct tl { spinlock_t lock; spinlock_t hw_lock; spinlock_t dev_lock; int v; };
void work(void);

static irqreturn_t tl_irq(int irq, void *dev)
{
	struct tl *t = dev;

	spin_lock(&t->hw_lock);
	t->v = 0;
	spin_unlock(&t->hw_lock);
	spin_lock(&t->dev_lock);
	t->v = 1;
	spin_unlock(&t->dev_lock);
	return IRQ_HANDLED;
}

int tl_probe(struct tl *t, unsigned int irq)
{
	return request_irq(irq, tl_irq, 0, "tl", t);
}

void try_irqsave_hw(struct tl *t)
{
	unsigned long flags;

	if (spin_trylock_irqsave(&t->lock, flags)) {
		spin_lock(&t->dev_lock);
		t->v++;
		spin_unlock(&t->dev_lock);
		spin_unlock_irqrestore(&t->lock, flags);
	}
}

void hw_unsafe(struct tl *t)
{
	spin_lock(&t->hw_lock);
	t->v--;
	spin_unlock(&t->hw_lock);
}

void try_irqsave(struct tl *t)
{
	unsigned long flags;

	if (spin_trylock_irqsave(&t->lock, flags)) {
		t->v++;
		spin_unlock_irqrestore(&t->lock, flags);
	}
}

void try_irqsave_negated(struct tl *t)
{
	unsigned long flags;

	if (!spin_trylock_irqsave(&t->lock, flags))
		return;
	t->v++;
	spin_unlock_irqrestore(&t->lock, flags);
}

void try_kept(struct tl *t)
{
	int got = spin_trylock(&t->lock);

	work();
	if (got)
		spin_unlock(&t->lock);
}

void try_kept_reassigned(struct tl *t)
{
	int got = spin_trylock(&t->lock);

	if (got) {
		t->v++;
		spin_unlock(&t->lock);
	}
	got = 0;
	work();
}

void leak_kept(struct tl *t, int err)
{
	int got = spin_trylock(&t->lock);

	if (got && err)
		return; /* BUG: still holds t->lock */
	if (got)
		spin_unlock(&t->lock);
}
