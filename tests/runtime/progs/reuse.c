/* A lock destroyed and its memory reused for another lock must not inherit the old lock's order.
 * Both kinds of lock are covered: one never initialised by a call (static initialiser copied
 * into heap memory, like std::mutex), and one initialised by pthread_mutex_init. The program
 * checks that the memory really was reused. Expected: no findings. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static const pthread_mutex_t initializer = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t* make_plain(void) {
  pthread_mutex_t* m = malloc(sizeof *m);
  *m = initializer;
  return m;
}

static pthread_mutex_t* make_account_lock(void) {
  pthread_mutex_t* m = malloc(sizeof *m);
  pthread_mutex_init(m, NULL);
  return m;
}

static pthread_mutex_t* make_other_lock(void) {
  pthread_mutex_t* m = malloc(sizeof *m);
  pthread_mutex_init(m, NULL);
  return m;
}

static void nest(pthread_mutex_t* x, pthread_mutex_t* y) {
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
}

int main(void) {
  int reused = 0;
  pthread_mutex_t* p = make_plain();
  nest(&outer, p);
  pthread_mutex_destroy(p);
  free(p);
  pthread_mutex_t* q = make_plain();
  reused += p == q;
  nest(q, &outer);
  pthread_mutex_destroy(q);
  free(q);

  p = make_account_lock();
  nest(&outer, p);
  pthread_mutex_destroy(p);
  free(p);
  q = make_other_lock();
  reused += p == q;
  nest(q, &outer);
  pthread_mutex_destroy(q);
  free(q);
  printf("reuse done, reused %d of 2\n", reused);
  return 0;
}
