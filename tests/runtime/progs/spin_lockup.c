/* A spinlock held for far longer than a critical section should last (its holder sleeps), while
 * another thread spins on it. Expected with spin_ms=100: spinlock_lockup_suspected naming
 * slow_spin, with the spinner and the holder (and sleeping_in_invalid_context for the sleep). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

pthread_spinlock_t slow_spin;
static volatile int held;

static void* holder(void* arg) {
  pthread_spin_lock(&slow_spin);
  held = 1;
  usleep(600 * 1000);
  pthread_spin_unlock(&slow_spin);
  return arg;
}

int main(void) {
  pthread_spin_init(&slow_spin, PTHREAD_PROCESS_PRIVATE);
  pthread_t t;
  pthread_create(&t, NULL, holder, NULL);
  while (!held) usleep(1000);
  pthread_spin_lock(&slow_spin);
  pthread_spin_unlock(&slow_spin);
  pthread_join(t, NULL);
  puts("spin_lockup done");
  return 0;
}
