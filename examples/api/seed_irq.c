/* Seed 1 ("Deadlock in interrupt context") with the C annotation API. The interrupt handler is
 * modelled with lockhound_irq_enter/exit(LOCKHOUND_HARDIRQ): it takes lock1 and then lock2, while
 * process context takes lock2 with interrupts enabled. lockhound reports the inconsistent lock
 * state on lock2 and says which spin_lock to turn into spin_lock_irqsave.
 * Build with -DFIXED for the seed's fix (interrupts disabled around lock2 in process context). */
#include <stdio.h>

#include "lockhound/lockhound.h"

static int lock1, lock2; /* stand-ins for spinlock_t: only their addresses matter here */
static int device_state;

static void spin_lock(int *l) { lockhound_acquire(l, LOCKHOUND_WRITE, 0); }
static void spin_unlock(int *l) { lockhound_release(l); }

static void irq_handler(void) {
  lockhound_irq_enter(LOCKHOUND_HARDIRQ);
  spin_lock(&lock1);
  spin_lock(&lock2); /* "Risky code that calls a function with spin_lock(&lock2)" */
  device_state++;
  spin_unlock(&lock2);
  spin_unlock(&lock1);
  lockhound_irq_exit(LOCKHOUND_HARDIRQ);
}

static void driver_update(void) {
#ifdef FIXED
  lockhound_irq_disable(LOCKHOUND_HARDIRQ); /* spin_lock_irqsave(&lock2, flags) */
#endif
  spin_lock(&lock2);
  device_state = 0;
  spin_unlock(&lock2);
#ifdef FIXED
  lockhound_irq_enable(LOCKHOUND_HARDIRQ); /* spin_unlock_irqrestore(&lock2, flags) */
#endif
}

int main(void) {
  lockhound_lock_init(&lock1, "lock1", LOCKHOUND_SPINLOCK);
  lockhound_lock_init(&lock2, "lock2", LOCKHOUND_SPINLOCK);
  irq_handler();   /* the interrupt fires once ... */
  driver_update(); /* ... and process context takes lock2 with interrupts on */
  printf("device_state=%d\n", device_state);
  return 0;
}
