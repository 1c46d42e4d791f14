/* A program whose debug information names something other than a regular file as its source
 * file (a #line directive): a named pipe, which the test makes before the run and nothing ever
 * writes to. A heap lock's name is read from its source line only when that is a regular file, so
 * naming the two locks of this ABBA must not open the pipe (opening it waits for a writer for
 * ever: the program would hang at its exit). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct pair {
  int uses;
  pthread_mutex_t first, second;
};

static void __attribute__((noinline)) in_order(pthread_mutex_t* x, pthread_mutex_t* y) {
#line 1 "/tmp/lockhound-source-fifo"
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
}

int main(void) {
  struct pair* p = calloc(1, sizeof *p); /* zeroed: PTHREAD_MUTEX_INITIALIZER */
  if (!p) return 1;
  in_order(&p->first, &p->second);
  in_order(&p->second, &p->first);
  printf("done\n");
  free(p);
  return 0;
}
