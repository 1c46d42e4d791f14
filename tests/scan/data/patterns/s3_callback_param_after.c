/* the callback called without the mutex held.
 * expect: nothing */
#include "kpatterns.h"
struct s3 { struct mutex lock; int v; };
static void s3_bump(struct s3 *s)
{
	mutex_lock(&s->lock);
	s->v++;
	mutex_unlock(&s->lock);
}
static void s3_each(struct s3 *s, void (*fn)(struct s3 *))
{
	fn(s);
}
void s3_all(struct s3 *s)
{
	s3_each(s, s3_bump);
}
