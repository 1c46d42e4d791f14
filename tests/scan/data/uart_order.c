/* start_tx runs under port->lock (the caller's) and takes the driver's tx_lock: port->lock ->
 * tx_lock. The flush path takes tx_lock and then port->lock: the reverse order
 * (circular_dependency). */
#include "kops.h"

struct order_uart { struct uart_port port; spinlock_t tx_lock; int queued; };

static void order_start_tx(struct uart_port *port)
{
	struct order_uart *u = container_of(port, struct order_uart, port);

	spin_lock(&u->tx_lock);
	u->queued++;
	spin_unlock(&u->tx_lock);
}

void order_flush(struct order_uart *u)
{
	unsigned long flags;

	spin_lock_irqsave(&u->tx_lock, flags);
	spin_lock(&u->port.lock);
	u->queued = 0;
	spin_unlock(&u->port.lock);
	spin_unlock_irqrestore(&u->tx_lock, flags);
}

const struct uart_ops order_uart_ops = {
	.start_tx = order_start_tx,
};
