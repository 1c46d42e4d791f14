/* a helper that returns with the lock held on every path, and its release helper.
 * expect: nothing */
#include "kpatterns.h"
struct t3 { struct mutex lock; int v; };
static struct t3 *t3_get_locked(struct t3 *t) __acquires(&t->lock)
{
	mutex_lock(&t->lock);
	return t;
}
static void t3_put(struct t3 *t) __releases(&t->lock)
{
	mutex_unlock(&t->lock);
}
int t3_bump(struct t3 *t)
{
	struct t3 *l = t3_get_locked(t);
	l->v++;
	t3_put(l);
	return 0;
}
