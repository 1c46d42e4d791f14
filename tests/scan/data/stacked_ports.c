/* Ports stacked on ports (serio's multiplexer, ps2mult): a mux's receive handler takes the lock
 * of the mux it finds from its port, then hands the byte on through the port above's driver
 * callback, which may be this same handler, for another port and another mux. Both locks are
 * struct mux::lock, named by a local of each activation of mux_rx: not provably one lock, so
 * "another instance", never "a certain self-deadlock". reset() takes a device's lock and calls a
 * helper that takes the same device's lock again: that one is certain. */
#include "kops.h"

struct port;
struct port_driver { void (*rx)(struct port *p, int c); };
struct mux { spinlock_t lock; struct port *in; };
struct port { struct port_driver *drv; };

void *port_get_drvdata(struct port *p);

static void port_rx(struct port *p, int c)
{
	p->drv->rx(p, c);
}

static void mux_rx(struct port *p, int c)
{
	struct mux *m = port_get_drvdata(p);
	spin_lock(&m->lock);
	port_rx(m->in, c);
	spin_unlock(&m->lock);
}

struct port_driver mux_driver = { .rx = mux_rx };

struct dev { spinlock_t lock; int n; };

static void bump(struct dev *d)
{
	spin_lock(&d->lock);
	d->n++;
	spin_unlock(&d->lock);
}

void reset(struct dev *d)
{
	spin_lock(&d->lock);
	bump(d);
	spin_unlock(&d->lock);
}
