/* cancel_work_sync() under the mutex the work function takes.
 * expect: circular_dependency */
#include "kpatterns.h"
struct baz { struct mutex lock; struct work_struct work; int state; };
static void baz_work(struct work_struct *w)
{
	struct baz *z = container_of(w, struct baz, work);
	mutex_lock(&z->lock);
	z->state++;
	mutex_unlock(&z->lock);
}
void baz_init(struct baz *z)
{
	mutex_init(&z->lock);
	INIT_WORK(&z->work, baz_work);
}
void baz_remove(struct baz *z)
{
	mutex_lock(&z->lock);
	z->state = -1;
	cancel_work_sync(&z->work);
	mutex_unlock(&z->lock);
}
