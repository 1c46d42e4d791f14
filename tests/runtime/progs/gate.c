/* A cycle under a common gate lock: both orders of a/b are only ever taken while holding
 * `gate_lock`, so they can never run at the same time. Expected: guarded_cycle, and no
 * circular_dependency. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t inner_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t inner_b = PTHREAD_MUTEX_INITIALIZER;

static void* one(void* arg) {
  pthread_mutex_lock(&gate_lock);
  pthread_mutex_lock(&inner_a);
  pthread_mutex_lock(&inner_b);
  pthread_mutex_unlock(&inner_b);
  pthread_mutex_unlock(&inner_a);
  pthread_mutex_unlock(&gate_lock);
  return arg;
}

static void* two(void* arg) {
  pthread_mutex_lock(&gate_lock);
  pthread_mutex_lock(&inner_b);
  pthread_mutex_lock(&inner_a);
  pthread_mutex_unlock(&inner_a);
  pthread_mutex_unlock(&inner_b);
  pthread_mutex_unlock(&gate_lock);
  return arg;
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, one, NULL);
  pthread_create(&b, NULL, two, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  puts("gate done");
  return 0;
}
