/* A panic notifier that takes the lock its interrupt handler takes (ipmi's panic_event): panic()
 * turns local interrupts off before it runs the notifiers, so that is clean. The same callback on
 * another notifier chain (reboot_event) runs with interrupts on: an inconsistent lock state. */
#include "kops.h"

struct notifier_block {
	int (*notifier_call)(struct notifier_block *nb, unsigned long action, void *data);
	struct notifier_block *next;
	int priority;
};
struct atomic_notifier_head { spinlock_t lock; struct notifier_block *head; };
extern struct atomic_notifier_head panic_notifier_list;
extern struct atomic_notifier_head reboot_list;
int atomic_notifier_chain_register(struct atomic_notifier_head *nh, struct notifier_block *nb);

struct bmc { spinlock_t xmit_lock; spinlock_t rcv_lock; int pending; };
static struct bmc the_bmc;

static irqreturn_t bmc_interrupt(int irq, void *dev_id)
{
	struct bmc *b = dev_id;
	spin_lock(&b->xmit_lock);
	b->pending = 0;
	spin_unlock(&b->xmit_lock);
	spin_lock(&b->rcv_lock);
	b->pending = 0;
	spin_unlock(&b->rcv_lock);
	return IRQ_HANDLED;
}

static int panic_event(struct notifier_block *nb, unsigned long action, void *data)
{
	spin_lock(&the_bmc.xmit_lock);
	the_bmc.pending = 1;
	spin_unlock(&the_bmc.xmit_lock);
	return 0;
}

static int reboot_event(struct notifier_block *nb, unsigned long action, void *data)
{
	spin_lock(&the_bmc.rcv_lock);
	the_bmc.pending = 2;
	spin_unlock(&the_bmc.rcv_lock);
	return 0;
}

static struct notifier_block panic_block = { .notifier_call = panic_event, .priority = 200 };
static struct notifier_block reboot_block = { .notifier_call = reboot_event };

int bmc_init(void)
{
	atomic_notifier_chain_register(&panic_notifier_list, &panic_block);
	atomic_notifier_chain_register(&reboot_list, &reboot_block);
	return request_irq(1, bmc_interrupt, 0, "bmc", &the_bmc);
}
