/* kapi.h - just enough kernel API, declared by hand, for the examples of `lockhound scan` to
 * parse on their own (`lockhound scan examples/scan/seed_abba.c`). Not kernel code: in a real
 * module the same names come from <linux/spinlock.h> and friends (see docs/scan.md for scanning
 * a module built with Kbuild). */
#ifndef LOCKHOUND_EXAMPLE_KAPI_H
#define LOCKHOUND_EXAMPLE_KAPI_H
#define NULL ((void *)0)
typedef unsigned int gfp_t;
#define ___GFP_DIRECT_RECLAIM 0x400u
#define GFP_KERNEL 0xcc0u
#define GFP_ATOMIC 0x820u
typedef struct spinlock { int raw; } spinlock_t;
struct mutex { int owner; };
#define DEFINE_SPINLOCK(x) spinlock_t x
#define DEFINE_MUTEX(x) struct mutex x
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
void spin_lock_irq(spinlock_t *l);
void spin_unlock_irq(spinlock_t *l);
void spin_lock_irqsave(spinlock_t *l, unsigned long *flags);
#define spin_lock_irqsave(l, f) spin_lock_irqsave(l, &(f))
void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
void *kmalloc(unsigned long size, gfp_t flags);
void kfree(const void *p);
void msleep(unsigned int ms);
typedef enum irqreturn { IRQ_NONE, IRQ_HANDLED } irqreturn_t;
int request_irq(unsigned int irq, irqreturn_t (*handler)(int, void *), unsigned long flags,
                const char *name, void *dev);
#endif
