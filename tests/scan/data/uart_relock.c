/* serial_core calls uart_ops::start_tx holding the port's lock with interrupts off. A start_tx
 * that takes port->lock again spins on a lock its own CPU holds (recursive_locking); a start_tx
 * that only touches the hardware is clean. */
#include "kops.h"

struct relock_uart { struct uart_port port; int fifo; };

static void relock_start_tx(struct uart_port *port)
{
	struct relock_uart *u = container_of(port, struct relock_uart, port);
	unsigned long flags;

	spin_lock_irqsave(&port->lock, flags); /* BUG: the caller holds it */
	u->fifo = 1;
	spin_unlock_irqrestore(&port->lock, flags);
}

static void ok_stop_tx(struct uart_port *port)
{
	struct relock_uart *u = container_of(port, struct relock_uart, port);

	u->fifo = 0;
}

const struct uart_ops relock_uart_ops = {
	.start_tx = relock_start_tx,
	.stop_tx = ok_stop_tx,
};
