/* the reverse order taken with a trylock that backs off.
 * expect: nothing */
#include "kpatterns.h"
struct t4 { spinlock_t a; spinlock_t b; int v; };
void t4_ab(struct t4 *t)
{
	spin_lock(&t->a);
	spin_lock(&t->b);
	t->v++;
	spin_unlock(&t->b);
	spin_unlock(&t->a);
}
void t4_ba(struct t4 *t)
{
again:
	spin_lock(&t->b);
	if (!spin_trylock(&t->a)) {
		spin_unlock(&t->b);
		cpu_relax();
		goto again;
	}
	t->v--;
	spin_unlock(&t->a);
	spin_unlock(&t->b);
}
