/* Trylocks that fail because the calling thread already holds the lock: a default mutex (a cache
 * refresh that "tries" the lock its caller took) and a rwlock held for writing. Each fails every
 * time (EBUSY) and never hangs. Expected: two recursive_locking notes (refresh_entry,
 * retry_table), each with the stack of the trylock and of the lock that holds it; none for
 * busy_elsewhere, whose trylock fails because another thread holds the lock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t taken, tried;

static __attribute__((noinline)) int refresh_entry(void) {
  int rc = pthread_mutex_trylock(&cache_lock); /* the caller holds it: always EBUSY */
  if (rc == 0) pthread_mutex_unlock(&cache_lock);
  return rc;
}

static __attribute__((noinline)) int update_cache(void) {
  pthread_mutex_lock(&cache_lock);
  int rc = refresh_entry();
  pthread_mutex_unlock(&cache_lock);
  return rc;
}

static __attribute__((noinline)) int retry_table(void) {
  int rc = pthread_rwlock_trywrlock(&table_lock);
  if (rc == 0) pthread_rwlock_unlock(&table_lock);
  return rc;
}

static __attribute__((noinline)) int rebuild_table(void) {
  pthread_rwlock_wrlock(&table_lock);
  int rc = retry_table();
  pthread_rwlock_unlock(&table_lock);
  return rc;
}

static void* holder(void* arg) {
  pthread_mutex_lock(&queue_lock);
  pthread_barrier_wait(&taken);
  pthread_barrier_wait(&tried);
  pthread_mutex_unlock(&queue_lock);
  return arg;
}

static __attribute__((noinline)) int busy_elsewhere(void) {
  int rc = pthread_mutex_trylock(&queue_lock); /* another thread holds it: EBUSY, no finding */
  if (rc == 0) pthread_mutex_unlock(&queue_lock);
  return rc;
}

int main(void) {
  pthread_barrier_init(&taken, NULL, 2);
  pthread_barrier_init(&tried, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, holder, NULL);
  pthread_barrier_wait(&taken);
  int other = busy_elsewhere();
  pthread_barrier_wait(&tried);
  pthread_join(t, NULL);
  int a = 0, b = 0;
  for (int i = 0; i < 3; ++i) { /* repeats are one finding each */
    a = update_cache();
    b = rebuild_table();
  }
  printf("trylock_held %s %s %s\n", a == EBUSY ? "EBUSY" : "other", b == EBUSY ? "EBUSY" : b == EDEADLK ? "EDEADLK" : "other",
         other == EBUSY ? "EBUSY" : "other");
  return 0;
}
