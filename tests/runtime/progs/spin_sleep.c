/* Sleeping while holding a spinlock: everyone waiting for it burns a CPU for the whole sleep.
 * Expected: sleeping_in_invalid_context naming spin_guard. "good" sleeps after unlocking. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

pthread_spinlock_t spin_guard;

int main(int argc, char** argv) {
  int good = argc > 1 && strcmp(argv[1], "good") == 0;
  pthread_spin_init(&spin_guard, PTHREAD_PROCESS_PRIVATE);
  pthread_spin_lock(&spin_guard);
  if (!good) usleep(1000);
  pthread_spin_unlock(&spin_guard);
  if (good) usleep(1000);
  pthread_spin_destroy(&spin_guard);
  puts("spin done");
  return 0;
}
