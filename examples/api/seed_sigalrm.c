/* Seed 1 in user space: a real SIGALRM handler plays the interrupt. The handler takes lock1 and
 * lock2 (pthread spinlocks); the main thread takes lock2 with SIGALRM unblocked, so a signal
 * arriving while main holds lock2 would spin forever on a lock its own thread holds. The alarm is
 * made to fire before main takes lock2, so this run never hangs — lockhound still reports it.
 * Build with -DFIXED for the fix: SIGALRM blocked while lock2 is held (the user-space
 * spin_lock_irqsave). Run under `lockhound run`, or link -llockhound. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static pthread_spinlock_t lock1, lock2;
static volatile sig_atomic_t ticks;

static void on_alarm(int sig) {
  (void)sig;
  pthread_spin_lock(&lock1);
  pthread_spin_lock(&lock2);
  ticks++;
  pthread_spin_unlock(&lock2);
  pthread_spin_unlock(&lock1);
}

int main(void) {
  pthread_spin_init(&lock1, PTHREAD_PROCESS_PRIVATE);
  pthread_spin_init(&lock2, PTHREAD_PROCESS_PRIVATE);
  struct sigaction sa;
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGALRM, &sa, NULL);
  alarm(1);
  while (!ticks) pause(); /* the "interrupt" fires once */

#ifdef FIXED
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
#endif
  pthread_spin_lock(&lock2); /* process context, SIGALRM deliverable */
  ticks += 10;
  pthread_spin_unlock(&lock2);
#ifdef FIXED
  pthread_sigmask(SIG_SETMASK, &old, NULL);
#endif
  printf("ticks=%d\n", (int)ticks);
  return 0;
}
