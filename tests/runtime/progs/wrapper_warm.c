// A mutex taken through a wrapper, first by warm_up() (alone: through lockhound's engine), released,
// then again through the same wrapper call by update(), which takes `stats` under it. The second
// acquisition of `table` takes the fast path; the edge table --> stats must carry its own callers
// (update), not those of the first acquisition (warm_up), whose release the engine was not told
// of. report() then takes the two the other way round, closing a cycle that prints the edge.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stats = PTHREAD_MUTEX_INITIALIZER;
static volatile int rows;

__attribute__((noinline)) void lock_it(pthread_mutex_t* m) {
  if (pthread_mutex_lock(m) != 0) abort();
}
__attribute__((noinline)) void unlock_it(pthread_mutex_t* m) {
  if (pthread_mutex_unlock(m) != 0) abort();
}

__attribute__((noinline)) void warm_up(void) {
  lock_it(&table);
  rows = 0;
  unlock_it(&table);
}

__attribute__((noinline)) void update(void) {
  lock_it(&table);
  pthread_mutex_lock(&stats);
  rows++;
  pthread_mutex_unlock(&stats);
  unlock_it(&table);
}

__attribute__((noinline)) void report(void) {
  pthread_mutex_lock(&stats);
  lock_it(&table);
  printf("rows=%d\n", rows);
  unlock_it(&table);
  pthread_mutex_unlock(&stats);
}

int main(void) {
  warm_up();
  update();
  report();
  return 0;
}
