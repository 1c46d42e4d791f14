/* bad_unlock_balance from source: drop() unlocks twice on the error path; cond() locks and
 * unlocks under the same unmodified condition (correlated: clean); relock() drops and retakes a
 * lock its caller holds (clean). */
#include <pthread.h>
struct a { pthread_mutex_t mu; int v; };
struct b { pthread_mutex_t mu; int v; };
struct c { pthread_mutex_t mu; int v; };
void work(void);

void drop(struct a *x, int err)
{
	pthread_mutex_lock(&x->mu);
	if (err)
		pthread_mutex_unlock(&x->mu);
	x->v++;
	pthread_mutex_unlock(&x->mu);
}

void cond(struct b *x, int flags)
{
	if (flags & 4)
		pthread_mutex_lock(&x->mu);
	work();
	if (flags & 4)
		pthread_mutex_unlock(&x->mu);
}

static void relock(struct c *x)
{
	pthread_mutex_unlock(&x->mu);
	work();
	pthread_mutex_lock(&x->mu);
}

void caller(struct c *x)
{
	pthread_mutex_lock(&x->mu);
	relock(x);
	pthread_mutex_unlock(&x->mu);
}
