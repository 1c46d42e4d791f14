/* wait_event_lock_irq() as Linux 6.1 expands it: prepare_to_wait_event() runs holding the lock
 * (it only queues the waiter), the lock is dropped around schedule(). Waiting that way is clean;
 * calling schedule() with the lock still held (sleep_locked) is sleeping_in_invalid_context. */
#include "kops.h"

struct wait_queue_head { spinlock_t lock; };
struct wait_queue_entry { int flags; };
long prepare_to_wait_event(struct wait_queue_head *wq, struct wait_queue_entry *we, int state);
void finish_wait(struct wait_queue_head *wq, struct wait_queue_entry *we);
void schedule(void);
#define wait_event_lock_irq(wq, cond, lock)                          \
	do {                                                         \
		struct wait_queue_entry __we;                        \
		if (cond)                                            \
			break;                                       \
		for (;;) {                                           \
			prepare_to_wait_event(&(wq), &__we, 2);      \
			if (cond)                                    \
				break;                               \
			spin_unlock_irq(&(lock));                    \
			schedule();                                  \
			spin_lock_irq(&(lock));                      \
		}                                                    \
		finish_wait(&(wq), &__we);                           \
	} while (0)

struct waiter { spinlock_t lock; struct wait_queue_head wq; int ready; };

void wait_ready(struct waiter *w)
{
	spin_lock_irq(&w->lock);
	wait_event_lock_irq(w->wq, w->ready, w->lock);
	w->ready = 0;
	spin_unlock_irq(&w->lock);
}

void sleep_locked(struct waiter *w)
{
	spin_lock_irq(&w->lock);
	schedule(); /* BUG */
	spin_unlock_irq(&w->lock);
}
