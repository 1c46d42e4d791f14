// Threads made with 64 KiB stacks (as servers make their many workers), one taking a then b,
// the next b then a; and a mutex made on the heap, first locked on one of them. The report is
// symbolized on those threads: lockhound must not overflow their stacks.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void* forward(void* x) {
  pthread_mutex_t* heap = x;
  pthread_mutex_lock(heap);  // no init call: named where it is first locked, on this stack
  pthread_mutex_unlock(heap);
  pthread_mutex_lock(&a);
  pthread_mutex_lock(&b);
  pthread_mutex_unlock(&b);
  pthread_mutex_unlock(&a);
  return NULL;
}

static void* backward(void* x) {
  pthread_mutex_lock(&b);
  pthread_mutex_lock(&a);  // the cycle closes here: reported from this thread
  pthread_mutex_unlock(&a);
  pthread_mutex_unlock(&b);
  return x;
}

int main(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_mutex_t* heap = calloc(1, sizeof *heap);  // zeroed: a default mutex, never initialised
  pthread_t t;
  pthread_create(&t, &attr, forward, heap);
  pthread_join(t, NULL);
  pthread_create(&t, &attr, backward, NULL);
  pthread_join(t, NULL);
  free(heap);
  puts("small_stacks done");
  return 0;
}
