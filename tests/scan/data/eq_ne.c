/* One condition spelled both ways: a function locks `if (mode == ATOMIC)` and unlocks
 * `if (mode != ATOMIC)` (the shape of ns83820's rx_refill with its gfp argument). Both tests
 * read the same comparison, so no path locks under one and skips the unlock under the other. */
#include "kops.h"

#define ATOMIC 32

struct ring {
	spinlock_t lock;
	int used;
};
struct dev;
struct ring *ring_of(struct dev *d);

int fill(struct dev *d, int mode)
{
	struct ring *r = ring_of(d);
	int i;
	unsigned long flags = 0;

	if (mode == ATOMIC)
		spin_lock_irqsave(&r->lock, flags);
	for (i = 0; i < 8; i++) {
		if (mode != ATOMIC)
			spin_lock_irqsave(&r->lock, flags);
		r->used++;
		if (mode != ATOMIC)
			spin_unlock_irqrestore(&r->lock, flags);
	}
	if (mode == ATOMIC)
		spin_unlock_irqrestore(&r->lock, flags);
	return 0;
}
