/* dev_queue_xmit calls ndo_start_xmit with softirqs off (rcu_read_lock_bh) and hardirqs on.
 * - priv->lock is taken by the interrupt handler; xmit takes it with a plain spin_lock: the
 *   interrupt can arrive while xmit holds it (inconsistent_lock_state, hardirq: softirqs off
 *   does not keep a hardirq out).
 * - priv->tx_stats_lock is taken by a timer (softirq); xmit takes it with a plain spin_lock,
 *   which is safe: softirqs are already off on entry (no finding).
 * - stats_lock is also the timer's; xstats_open takes it with softirqs on (process context, the
 *   control that the timer's use is seen): inconsistent_lock_state, softirq. */
#include "kops.h"

struct xmit_priv {
	spinlock_t lock;
	spinlock_t stats_lock;
	spinlock_t tx_stats_lock;
	struct timer_list timer;
	unsigned long packets, irqs, ticks;
};

static irqreturn_t xmit_irq(int irq, void *dev)
{
	struct xmit_priv *p = dev;

	spin_lock(&p->lock);
	p->irqs++;
	spin_unlock(&p->lock);
	return IRQ_HANDLED;
}

static void xmit_tick(struct timer_list *t)
{
	struct xmit_priv *p = container_of(t, struct xmit_priv, timer);

	spin_lock(&p->stats_lock);
	p->ticks++;
	spin_unlock(&p->stats_lock);
	spin_lock(&p->tx_stats_lock);
	p->packets = 0;
	spin_unlock(&p->tx_stats_lock);
}

static netdev_tx_t xmit_start(struct sk_buff *skb, struct net_device *dev)
{
	struct xmit_priv *p = dev->priv;

	spin_lock(&p->lock); /* BUG: the irq handler takes it; hardirqs are on here */
	p->packets++;
	spin_unlock(&p->lock);
	spin_lock(&p->tx_stats_lock); /* fine: softirqs are off on entry */
	p->packets += skb->len;
	spin_unlock(&p->tx_stats_lock);
	return NETDEV_TX_OK;
}

static int xstats_open(struct net_device *dev)
{
	struct xmit_priv *p = dev->priv;

	spin_lock(&p->stats_lock); /* BUG: softirqs on, the timer takes it */
	p->ticks = 0;
	spin_unlock(&p->stats_lock);
	return 0;
}

const struct net_device_ops xmit_netdev_ops = {
	.ndo_open = xstats_open,
	.ndo_start_xmit = xmit_start,
};

int xmit_probe(struct xmit_priv *p, unsigned int irq)
{
	timer_setup(&p->timer, xmit_tick, 0);
	return request_irq(irq, xmit_irq, 0, "xmit", p);
}
