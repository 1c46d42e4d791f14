/* one iterator called with a plain callback under the mutex and a locking one without it.
 * expect: nothing */
#include "kpatterns.h"
struct s5 { struct mutex lock; int v; };
static void s5_bump_locked(struct s5 *s)
{
	mutex_lock(&s->lock);
	s->v++;
	mutex_unlock(&s->lock);
}
static void s5_bump(struct s5 *s)
{
	s->v++;
}
static void s5_each(struct s5 *s, void (*fn)(struct s5 *))
{
	fn(s);
}
void s5_all_locked(struct s5 *s)
{
	mutex_lock(&s->lock);
	s5_each(s, s5_bump);
	mutex_unlock(&s->lock);
}
void s5_all(struct s5 *s)
{
	s5_each(s, s5_bump_locked);
}
