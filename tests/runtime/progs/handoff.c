/* A mutex handed over between threads: main locks it, a worker unlocks it (undefined for a
 * pthread mutex, though glibc's default mutex lets it happen), then main locks it again and
 * nests another lock under it. Expected: one bad_unlock_balance naming main as the holder, and
 * nothing else: after the handover main no longer holds handoff_lock, so taking it again is not
 * recursive locking. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t inner_lock = PTHREAD_MUTEX_INITIALIZER;

static void* worker(void* arg) {
  pthread_mutex_unlock(&handoff_lock);
  return arg;
}

int main(void) {
  pthread_mutex_lock(&handoff_lock);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  for (int i = 0; i < 3; ++i) {
    pthread_mutex_lock(&handoff_lock);
    pthread_mutex_lock(&inner_lock);
    pthread_mutex_unlock(&inner_lock);
    pthread_mutex_unlock(&handoff_lock);
  }
  puts("handoff done");
  return 0;
}
