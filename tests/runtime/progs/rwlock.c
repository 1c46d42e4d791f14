/* Read/write inversion. "bad": a reader of `table_rw` takes `stats_lock`, while a holder of
 * `stats_lock` takes `table_rw` for writing — a deadlock (the writer waits for the reader).
 * "good": the second thread takes `table_rw` for reading only; glibc's readers do not queue
 * behind waiting writers, so reader-reader is no deadlock and must not be reported. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

pthread_rwlock_t table_rw = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static int writer = 1;

static void* reader_side(void* arg) {
  pthread_rwlock_rdlock(&table_rw);
  pthread_mutex_lock(&stats_lock);
  pthread_mutex_unlock(&stats_lock);
  pthread_rwlock_unlock(&table_rw);
  return arg;
}

static void* other_side(void* arg) {
  pthread_mutex_lock(&stats_lock);
  if (writer) pthread_rwlock_wrlock(&table_rw);
  else pthread_rwlock_rdlock(&table_rw);
  pthread_rwlock_unlock(&table_rw);
  pthread_mutex_unlock(&stats_lock);
  return arg;
}

int main(int argc, char** argv) {
  writer = !(argc > 1 && strcmp(argv[1], "good") == 0);
  pthread_t t;
  pthread_create(&t, NULL, reader_side, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, other_side, NULL);
  pthread_join(t, NULL);
  puts("rwlock done");
  return 0;
}
