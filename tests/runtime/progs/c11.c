/* C11 threads: mtx_* in opposite orders, on locks allocated and initialised at run time.
 * Expected: circular_dependency between two classes named by their init call sites
 * ("init_locks (c11.c:LINE)"). */
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>

static mtx_t *m1, *m2;

static void init_locks(void) {
  m1 = malloc(sizeof *m1);
  m2 = malloc(sizeof *m2);
  mtx_init(m1, mtx_plain);
  mtx_init(m2, mtx_plain);
}

static int forward(void* arg) {
  mtx_lock(m1);
  mtx_lock(m2);
  mtx_unlock(m2);
  mtx_unlock(m1);
  return arg != NULL;
}

static int backward(void* arg) {
  mtx_lock(m2);
  mtx_lock(m1);
  mtx_unlock(m1);
  mtx_unlock(m2);
  return arg != NULL;
}

int main(void) {
  init_locks();
  thrd_t t;
  thrd_create(&t, forward, NULL);
  thrd_join(t, NULL);
  thrd_create(&t, backward, NULL);
  thrd_join(t, NULL);
  mtx_destroy(m1);
  mtx_destroy(m2);
  free(m1);
  free(m2);
  puts("c11 done");
  return 0;
}
