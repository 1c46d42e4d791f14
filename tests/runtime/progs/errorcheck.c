/* An error-checking mutex locked again by its owner: glibc returns EDEADLK (a default mutex would
 * hang right there; libraries have shipped exactly this through a lock callback). Expected:
 * recursive_locking on the same instance, with the stack of the second lock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t table_lock;

static __attribute__((noinline)) int lookup_again(void) { return pthread_mutex_lock(&table_lock); }

static __attribute__((noinline)) int update_table(void) {
  pthread_mutex_lock(&table_lock);
  int rc = lookup_again();  /* the callback takes the lock its caller holds */
  pthread_mutex_unlock(&table_lock);
  return rc;
}

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&table_lock, &a);
  int rc = update_table();
  printf("errorcheck %s\n", rc == EDEADLK ? "EDEADLK" : "other");
  return 0;
}
