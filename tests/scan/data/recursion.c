/* A completion run inline in polled mode resubmits (ipmi's run_to_completion: smi_send -> sender ->
 * ... -> the receive handler run inline -> i_ipmi_request -> smi_send). The recursion is guarded by
 * state (polled) the analysis does not track: with_lock -> complete -> submit -> with_lock cannot
 * happen, and a path that goes round it and on is not followed. user -> submit -> touch, with
 * stat_lock held, is a real self-deadlock when polled, and is reported. */
#include "kops.h"

struct dev { spinlock_t q_lock; spinlock_t stat_lock; int polled; int n; };

static void complete(struct dev *d);

static void touch(struct dev *d)
{
	spin_lock(&d->stat_lock);
	d->n++;
	spin_unlock(&d->stat_lock);
}

static void with_lock(struct dev *d)
{
	spin_lock(&d->q_lock);
	complete(d);
	spin_unlock(&d->q_lock);
}

static void submit(struct dev *d)
{
	if (d->polled)
		touch(d);
	else
		with_lock(d);
}

static void complete(struct dev *d)
{
	if (d->polled)
		submit(d);
}

void user(struct dev *d)
{
	spin_lock(&d->stat_lock);
	submit(d);
	spin_unlock(&d->stat_lock);
}
