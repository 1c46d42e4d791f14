/* Declarations for the kernel-pattern cases in this directory (lockhound's own test data): the
 * locking, timer, work, completion and interrupt APIs as plain functions with the kernel's names,
 * which is how lockhound scan recognises them (docs/scan.md, the API table). */
#ifndef KPATTERNS_H
#define KPATTERNS_H
#include <stddef.h>
#include <stdbool.h>

#define __user
#define __acquires(x)
#define __releases(x)
#define EINVAL 22
#define ENOMEM 12
#define EFAULT 14
#define EINTR 4
#define GFP_KERNEL 0x0cc0u
#define GFP_ATOMIC 0x0820u
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define from_timer(var, timer, field) container_of(timer, __typeof__(*var), field)

typedef struct { int raw; } spinlock_t;
struct mutex { int owner; };
typedef struct { int raw; } rwlock_t;
struct semaphore { int count; };
struct list_head { struct list_head *next, *prev; };
struct timer_list { void (*function)(struct timer_list *); };
struct work_struct { void (*func)(struct work_struct *); };
struct delayed_work { struct work_struct work; struct timer_list timer; };
struct workqueue_struct;
struct completion { int done; };
typedef enum { IRQ_NONE, IRQ_HANDLED, IRQ_WAKE_THREAD } irqreturn_t;
typedef irqreturn_t (*irq_handler_t)(int, void *);

void spin_lock_init(spinlock_t *l);
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
void spin_lock_bh(spinlock_t *l);
void spin_unlock_bh(spinlock_t *l);
#define spin_lock_irqsave(l, flags) do { (flags) = 0; _raw_spin_lock_irqsave(l); } while (0)
unsigned long _raw_spin_lock_irqsave(spinlock_t *l);
void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags);
int spin_trylock(spinlock_t *l);
void mutex_init(struct mutex *m);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
int mutex_lock_interruptible(struct mutex *m);
void rwlock_init(rwlock_t *l);
void read_lock(rwlock_t *l);
void read_unlock(rwlock_t *l);
void write_lock(rwlock_t *l);
void write_unlock(rwlock_t *l);
void write_lock_bh(rwlock_t *l);
void write_unlock_bh(rwlock_t *l);
void rtnl_lock(void);
void rtnl_unlock(void);
void down(struct semaphore *s);
void up(struct semaphore *s);
void local_bh_disable(void);
void local_bh_enable(void);

void timer_setup(struct timer_list *t, void (*fn)(struct timer_list *), unsigned int flags);
int del_timer_sync(struct timer_list *t);
#define INIT_WORK(w, fn) ((w)->func = (fn))
#define INIT_DELAYED_WORK(w, fn) ((w)->work.func = (fn))
#define to_delayed_work(w) container_of(w, struct delayed_work, work)
bool cancel_work_sync(struct work_struct *w);
bool cancel_delayed_work_sync(struct delayed_work *w);
bool queue_work(struct workqueue_struct *wq, struct work_struct *w);
bool schedule_delayed_work(struct delayed_work *w, unsigned long delay);
void flush_workqueue(struct workqueue_struct *wq);
void synchronize_rcu(void);
void disable_irq(unsigned int irq);
void disable_irq_nosync(unsigned int irq);
int request_irq(unsigned int irq, irq_handler_t handler, unsigned long flags, const char *name, void *dev);
int request_threaded_irq(unsigned int irq, irq_handler_t handler, irq_handler_t thread_fn,
                         unsigned long flags, const char *name, void *dev);
void wait_for_completion(struct completion *c);

void *kzalloc(size_t size, unsigned int gfp);
void *kmalloc(size_t size, unsigned int gfp);
void kfree(const void *p);
void msleep(unsigned int ms);
void cpu_relax(void);
unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);
void *memcpy(void *d, const void *s, size_t n);

bool list_empty(const struct list_head *h);
void list_del(struct list_head *e);
#define list_first_entry(head, type, member) container_of((head)->next, type, member)
#endif
