/* A reset that sleeps only when its caller says it may (the shape of typhoon_reset's wait_type),
 * called from a timer (softirq) and from process context. ok_timer passes WAIT_NO_SLEEP, through a
 * wrapper that forwards the parameter too: clean. bad_timer passes WAIT_SLEEP: the sleep in
 * softirq context is reported. poll_timer passes a flag that skips a mutex: clean; lock_timer
 * passes the one that takes it: reported. */
enum wait_type { NO_WAIT, WAIT_NO_SLEEP, WAIT_SLEEP };
struct timer_list { void (*function)(struct timer_list *); };
struct mutex { int m; };
struct dev { struct timer_list ok, bad, poll, lock; struct mutex cfg; };
void msleep(unsigned int ms);
void udelay(unsigned long us);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
void timer_setup(struct timer_list *t, void (*fn)(struct timer_list *), unsigned int flags);
#define container_of(p, T, m) ((T *)((char *)(p) - __builtin_offsetof(T, m)))

static int hw_reset(struct dev *d, enum wait_type wait_type)
{
	if (wait_type != NO_WAIT) {
		if (wait_type == WAIT_SLEEP)
			msleep(5);
		else
			udelay(500);
	}
	return 0;
}

static int reset_wrapper(struct dev *d, enum wait_type how)
{
	return hw_reset(d, how);
}

static void refresh(struct dev *d, int can_block)
{
	if (can_block) {
		mutex_lock(&d->cfg);
		mutex_unlock(&d->cfg);
	}
}

static void ok_timer(struct timer_list *t)
{
	struct dev *d = container_of(t, struct dev, ok);
	reset_wrapper(d, WAIT_NO_SLEEP);
	hw_reset(d, NO_WAIT);
}

static void bad_timer(struct timer_list *t)
{
	struct dev *d = container_of(t, struct dev, bad);
	reset_wrapper(d, WAIT_SLEEP);
}

static void poll_timer(struct timer_list *t)
{
	struct dev *d = container_of(t, struct dev, poll);
	refresh(d, 0);
}

static void lock_timer(struct timer_list *t)
{
	struct dev *d = container_of(t, struct dev, lock);
	refresh(d, 1);
}

void dev_probe(struct dev *d)
{
	timer_setup(&d->ok, ok_timer, 0);
	timer_setup(&d->bad, bad_timer, 0);
	timer_setup(&d->poll, poll_timer, 0);
	timer_setup(&d->lock, lock_timer, 0);
	hw_reset(d, WAIT_SLEEP);
}
