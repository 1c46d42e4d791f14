/* kops.h - the kernel API the ops-struct fixtures use, declared by hand (as examples/scan/kapi.h):
 * spinlocks, the interrupt-state primitives, and the ops structs whose calling context lockhound
 * scan knows (struct uart_ops, net_device_ops, snd_pcm_ops). The trylock macros are spelled as
 * Linux 6.1's <linux/spinlock.h> spells them: statement expressions around _raw_spin_trylock(). */
#ifndef LOCKHOUND_TEST_KOPS_H
#define LOCKHOUND_TEST_KOPS_H
#define NULL ((void *)0)
typedef struct spinlock { int raw; } spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
void spin_lock_irq(spinlock_t *l);
void spin_unlock_irq(spinlock_t *l);
void spin_lock_bh(spinlock_t *l);
void spin_unlock_bh(spinlock_t *l);
void spin_lock_irqsave(spinlock_t *l, unsigned long *flags);
#define spin_lock_irqsave(l, f) spin_lock_irqsave(l, &(f))
void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags);
int _raw_spin_trylock(spinlock_t *l);
unsigned long arch_local_irq_save(void);
void arch_local_irq_restore(unsigned long flags);
#define local_irq_save(flags) do { (flags) = arch_local_irq_save(); } while (0)
#define local_irq_restore(flags) arch_local_irq_restore(flags)
#define __cond_lock(x, c) (c)
#define spin_trylock(lock) __cond_lock(lock, _raw_spin_trylock(lock))
#define spin_trylock_irqsave(lock, flags) \
	({ local_irq_save(flags); spin_trylock(lock) ? 1 : ({ local_irq_restore(flags); 0; }); })

typedef enum irqreturn { IRQ_NONE, IRQ_HANDLED } irqreturn_t;
int request_irq(unsigned int irq, irqreturn_t (*handler)(int, void *), unsigned long flags,
		const char *name, void *dev);
struct timer_list { unsigned long expires; void (*function)(struct timer_list *); };
void timer_setup(struct timer_list *t, void (*fn)(struct timer_list *), unsigned int flags);
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

struct uart_port { spinlock_t lock; unsigned int irq; };
struct uart_ops {
	void (*start_tx)(struct uart_port *);
	void (*stop_tx)(struct uart_port *);
	int (*startup)(struct uart_port *);
};

struct sk_buff { unsigned int len; };
struct net_device { void *priv; };
typedef enum netdev_tx { NETDEV_TX_OK = 0, NETDEV_TX_BUSY = 0x10 } netdev_tx_t;
struct net_device_ops {
	int (*ndo_open)(struct net_device *);
	netdev_tx_t (*ndo_start_xmit)(struct sk_buff *, struct net_device *);
};

struct snd_pcm_substream { void *private_data; };
struct snd_pcm_ops {
	int (*prepare)(struct snd_pcm_substream *);
	int (*trigger)(struct snd_pcm_substream *, int);
};
#endif
