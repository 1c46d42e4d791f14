/* an ops-struct method, called with the mutex held, takes the same mutex.
 * expect: recursive_locking */
#include "kpatterns.h"
struct t6;
struct t6_ops { void (*notify)(struct t6 *t); };
struct t6 { struct mutex lock; const struct t6_ops *ops; int v; };
static void t6_notify(struct t6 *t)
{
	mutex_lock(&t->lock);
	t->v++;
	mutex_unlock(&t->lock);
}
static const struct t6_ops t6_default_ops = { .notify = t6_notify };
void t6_init(struct t6 *t)
{
	mutex_init(&t->lock);
	t->ops = &t6_default_ops;
}
void t6_set(struct t6 *t, int v)
{
	mutex_lock(&t->lock);
	t->v = v;
	t->ops->notify(t);
	mutex_unlock(&t->lock);
}
