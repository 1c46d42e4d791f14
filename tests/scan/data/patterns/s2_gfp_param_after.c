/* GFP_ATOMIC passed down.
 * expect: nothing */
#include "kpatterns.h"
struct s2 { spinlock_t lock; void *buf; };
static void *s2_alloc(unsigned int gfp)
{
	return kzalloc(128, gfp);
}
void s2_refill(struct s2 *s)
{
	spin_lock(&s->lock);
	if (!s->buf)
		s->buf = s2_alloc(GFP_ATOMIC);
	spin_unlock(&s->lock);
}
