/* Three threads, three locks, a cycle of length three (each pair alone is consistent). One lock
 * lives inside a larger static object, so its class is named "table+0x40". */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t second_lock = PTHREAD_MUTEX_INITIALIZER;
struct table {
  char pad[64];
  pthread_mutex_t m;
} table = {{0}, PTHREAD_MUTEX_INITIALIZER};

static void take(pthread_mutex_t* x, pthread_mutex_t* y) {
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
}

static void* t1(void* arg) { take(&first_lock, &second_lock); return arg; }
static void* t2(void* arg) { take(&second_lock, &table.m); return arg; }
static void* t3(void* arg) { take(&table.m, &first_lock); return arg; }

int main(void) {
  void* (*fns[3])(void*) = {t1, t2, t3};
  for (int i = 0; i < 3; ++i) {
    pthread_t t;
    pthread_create(&t, NULL, fns[i], NULL);
    pthread_join(t, NULL);
  }
  puts("cycle3 done");
  return 0;
}
