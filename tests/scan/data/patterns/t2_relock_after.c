/* the lock dropped around a sleep in a loop and taken again.
 * expect: nothing */
#include "kpatterns.h"
struct t2 { spinlock_t lock; struct list_head items; int n; };
struct t2_item { struct list_head node; };
void t2_drain(struct t2 *t)
{
	spin_lock(&t->lock);
	while (!list_empty(&t->items)) {
		struct t2_item *it = list_first_entry(&t->items, struct t2_item, node);
		list_del(&it->node);
		spin_unlock(&t->lock);
		kfree(it);
		msleep(1);
		spin_lock(&t->lock);
	}
	spin_unlock(&t->lock);
}
