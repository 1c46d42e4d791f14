/* Sleeping while holding a spinlock: everyone waiting for it burns a CPU for the whole sleep.
 * Expected: sleeping_in_invalid_context naming spin_guard. "good" sleeps after unlocking.
 *
 * "warm": the spinlock is taken alone and under a mutex many times first (those chains then take
 * the fast path, where the spinlock's class tag lives in a side table), and only then held across
 * a sleep: the sleep must still be seen. Then warm_mutex is taken under spin_guard, once: a cycle
 * the engine must see although both locks were warm, and a sleeping lock in a spinning one.
 * Expected: sleeping_in_invalid_context (spin_guard, usleep), circular_dependency (spin_guard,
 * warm_mutex) and invalid_wait_context, one each. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

pthread_spinlock_t spin_guard;
pthread_mutex_t warm_mutex = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char** argv) {
  int good = argc > 1 && strcmp(argv[1], "good") == 0;
  int warm = argc > 1 && strcmp(argv[1], "warm") == 0;
  pthread_spin_init(&spin_guard, PTHREAD_PROCESS_PRIVATE);
  if (warm) {
    for (int i = 0; i < 1000; ++i) {
      pthread_spin_lock(&spin_guard);
      pthread_spin_unlock(&spin_guard);
      pthread_mutex_lock(&warm_mutex);
      if (pthread_spin_trylock(&spin_guard) == 0) pthread_spin_unlock(&spin_guard);
      pthread_spin_lock(&spin_guard);
      pthread_spin_unlock(&spin_guard);
      pthread_mutex_unlock(&warm_mutex);
    }
    pthread_mutex_lock(&warm_mutex);
    pthread_spin_lock(&spin_guard);
    usleep(1000);
    pthread_spin_unlock(&spin_guard);
    pthread_mutex_unlock(&warm_mutex);
    pthread_spin_lock(&spin_guard);
    if (pthread_mutex_trylock(&warm_mutex) == 0) pthread_mutex_unlock(&warm_mutex);
    pthread_spin_unlock(&spin_guard);
    pthread_spin_lock(&spin_guard);
    pthread_mutex_lock(&warm_mutex); /* a mutex under a spinlock: also a sleep in atomic context */
    pthread_mutex_unlock(&warm_mutex);
    pthread_spin_unlock(&spin_guard);
  } else {
    pthread_spin_lock(&spin_guard);
    if (!good) usleep(1000);
    pthread_spin_unlock(&spin_guard);
    if (good) usleep(1000);
  }
  pthread_spin_destroy(&spin_guard);
  puts("spin done");
  return 0;
}
