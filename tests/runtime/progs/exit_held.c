/* A thread ends while holding a lock: nobody can ever take it again. Expected:
 * still_has_locks_held naming leaked_lock. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t leaked_lock = PTHREAD_MUTEX_INITIALIZER;

static void* worker(void* arg) {
  pthread_mutex_lock(&leaked_lock);
  return arg;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  puts("exit_held done");
  return 0;
}
