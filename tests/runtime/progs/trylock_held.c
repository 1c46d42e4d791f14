/* Trylocks that fail because the calling thread already holds the lock: a default mutex (a cache
 * refresh that "tries" the lock its caller took), a rwlock held for writing and an error-checking
 * mutex. Each fails every time (EBUSY) and never hangs. Expected: three recursive_locking notes
 * (refresh_entry, retry_table, recheck_index), each with the stack of the trylock and of the lock
 * that holds it; none for busy_elsewhere, whose trylock fails because another thread holds the
 * lock, and none for a recursive mutex tried again by its owner (that trylock succeeds). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t taken, tried;
static pthread_mutex_t index_lock; /* error-checking */
static pthread_mutex_t tree_lock;  /* recursive */

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

static __attribute__((noinline)) int recheck_index(void) {
  int rc = pthread_mutex_trylock(&index_lock);
  if (rc == 0) pthread_mutex_unlock(&index_lock);
  return rc;
}

static __attribute__((noinline)) int scan_index(void) {
  pthread_mutex_lock(&index_lock);
  int rc = recheck_index();
  pthread_mutex_unlock(&index_lock);
  return rc;
}

static __attribute__((noinline)) int walk_tree(void) {
  pthread_mutex_lock(&tree_lock);
  int rc = pthread_mutex_trylock(&tree_lock); /* recursive: succeeds */
  if (rc == 0) pthread_mutex_unlock(&tree_lock);
  pthread_mutex_unlock(&tree_lock);
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
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&index_lock, &at);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&tree_lock, &at);
  pthread_barrier_init(&taken, NULL, 2);
  pthread_barrier_init(&tried, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, holder, NULL);
  pthread_barrier_wait(&taken);
  int other = busy_elsewhere();
  pthread_barrier_wait(&tried);
  pthread_join(t, NULL);
  int a = 0, b = 0, c = 0, d = 0;
  for (int i = 0; i < 3; ++i) { /* repeats are one finding each */
    a = update_cache();
    b = rebuild_table();
    c = scan_index();
    d = walk_tree();
  }
  printf("trylock_held %s %s %s %s %s\n", a == EBUSY ? "EBUSY" : "other",
         b == EBUSY ? "EBUSY" : b == EDEADLK ? "EDEADLK" : "other", c == EBUSY ? "EBUSY" : "other",
         d == 0 ? "0" : "other", other == EBUSY ? "EBUSY" : "other");
  return 0;
}
