/* A work item that may wait for itself, unless a bit its caller set says otherwise (the shape of
 * e1000's reset task). reset_task: the bit is set first, so the wait is never reached from the
 * work item (clean). other_task: nothing sets the bit, so the work item can wait for itself. */
#define RESETTING 3
struct work_struct { void (*func)(struct work_struct *); };
struct adapter { unsigned long flags; struct work_struct reset_task; struct work_struct other_task; };
int test_and_set_bit(long nr, volatile unsigned long *addr);
int test_bit(long nr, const volatile unsigned long *addr);
void clear_bit(long nr, volatile unsigned long *addr);
int cancel_work_sync(struct work_struct *w);
void msleep(unsigned int ms);
#define container_of(p, T, m) ((T *)((char *)(p) - __builtin_offsetof(T, m)))

static void down_and_stop(struct adapter *a)
{
	if (!test_bit(RESETTING, &a->flags))
		cancel_work_sync(&a->reset_task);
	cancel_work_sync(&a->other_task);
}

static void reinit_locked(struct adapter *a)
{
	while (test_and_set_bit(RESETTING, &a->flags))
		msleep(1);
	down_and_stop(a);
	clear_bit(RESETTING, &a->flags);
}

static void reset_task(struct work_struct *w)
{
	struct adapter *a = container_of(w, struct adapter, reset_task);
	reinit_locked(a);
}

static void other_task(struct work_struct *w)
{
	struct adapter *a = container_of(w, struct adapter, other_task);
	down_and_stop(a);
}

void probe(struct adapter *a)
{
	a->reset_task.func = reset_task;
	a->other_task.func = other_task;
}
