/* A lock destroyed and its memory reused for another lock must not inherit the old lock's order.
 * Both kinds of lock are covered: one never initialised by a call (static initialiser copied
 * into heap memory, like std::mutex), and one initialised by pthread_mutex_init. The memory is
 * one block the program manages itself (as a pool allocator would), so it is certainly reused.
 * Expected: no findings. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static const pthread_mutex_t initializer = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t* pool;

static pthread_mutex_t* make_plain(void) {
  *pool = initializer;
  return pool;
}

static pthread_mutex_t* make_account_lock(void) {
  pthread_mutex_init(pool, NULL);
  return pool;
}

static pthread_mutex_t* make_other_lock(void) {
  pthread_mutex_init(pool, NULL);
  return pool;
}

static void nest(pthread_mutex_t* x, pthread_mutex_t* y) {
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
}

int main(void) {
  pool = malloc(sizeof *pool);
  pthread_mutex_t* p = make_plain();
  nest(&outer, p);
  pthread_mutex_destroy(p);
  pthread_mutex_t* q = make_plain();
  nest(q, &outer);
  pthread_mutex_destroy(q);

  p = make_account_lock();
  nest(&outer, p);
  pthread_mutex_destroy(p);
  q = make_other_lock();
  nest(q, &outer);
  pthread_mutex_destroy(q);
  free(pool);
  puts("reuse done");
  return 0;
}
