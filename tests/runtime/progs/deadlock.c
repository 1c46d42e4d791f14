/* A real deadlock: both threads hold one lock and wait for the other. Only the watchdog can end
 * this run (watchdog_abort). Expected: actual_deadlock with both threads, their stacks and held
 * locks. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t left_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t right_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

static void* left(void* arg) {
  pthread_mutex_lock(&left_lock);
  pthread_barrier_wait(&both_hold);
  pthread_mutex_lock(&right_lock);
  pthread_mutex_unlock(&right_lock);
  pthread_mutex_unlock(&left_lock);
  return arg;
}

static void* right(void* arg) {
  pthread_mutex_lock(&right_lock);
  pthread_barrier_wait(&both_hold);
  pthread_mutex_lock(&left_lock);
  pthread_mutex_unlock(&left_lock);
  pthread_mutex_unlock(&right_lock);
  return arg;
}

int main(void) {
  pthread_barrier_init(&both_hold, NULL, 2);
  pthread_t a, b;
  pthread_create(&a, NULL, left, NULL);
  pthread_create(&b, NULL, right, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  puts("not reached");
  return 0;
}
