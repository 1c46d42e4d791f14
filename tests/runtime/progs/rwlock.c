/* Read/write inversion. "bad": a reader of `table_rw` takes `stats_lock`, while a holder of
 * `stats_lock` takes `table_rw` for writing — a deadlock (the writer waits for the reader).
 * "good": the second thread takes `table_rw` for reading only; glibc's readers do not queue
 * behind waiting writers, so reader-reader is no deadlock and must not be reported.
 *
 * Recursive reads, while another thread takes the lock for writing:
 * "reread": `table_rw` (glibc's default kind: readers never wait behind a writer) read-locked
 *           twice by one thread: no deadlock, nothing to report.
 * "reread_wpref": `pref_rw`, made writer-preferring (PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP),
 *           read-locked twice: a writer arriving in between hangs both, recursive locking.
 * "good_warm": "good" after `table_rw` was taken alone for writing and the reader's nesting was
 *           repeated many times, so that the reader's read lock takes the fast path: it must be
 *           pushed as the read it is (as a write, the other side's read would close a cycle). */
#define _GNU_SOURCE
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

pthread_rwlock_t pref_rw;

static void* rereader(void* arg) {
  pthread_rwlock_t* rw = arg;
  for (int i = 0; i < 200; ++i) {
    pthread_rwlock_rdlock(rw);
    pthread_rwlock_rdlock(rw);
    pthread_rwlock_unlock(rw);
    pthread_rwlock_unlock(rw);
  }
  return NULL;
}

// Takes the lock for writing now and then while rereader runs; joined before rereader's second
// read could ever wait on it for long (the real hang is a matter of timing, not this test's aim).
static void* occasional_writer(void* arg) {
  pthread_rwlock_t* rw = arg;
  for (int i = 0; i < 200; ++i) {
    if (pthread_rwlock_trywrlock(rw) == 0) pthread_rwlock_unlock(rw);
  }
  return NULL;
}

static int reread(pthread_rwlock_t* rw) {
  pthread_t r, w;
  pthread_create(&r, NULL, rereader, rw);
  pthread_create(&w, NULL, occasional_writer, rw);
  pthread_join(r, NULL);
  pthread_join(w, NULL);
  puts("rwlock done");
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "reread") == 0) return reread(&table_rw);
  if (argc > 1 && strcmp(argv[1], "reread_wpref") == 0) {
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&pref_rw, &a);
    return reread(&pref_rw);
  }
  int warm = argc > 1 && strcmp(argv[1], "good_warm") == 0;
  writer = !(argc > 1 && (strcmp(argv[1], "good") == 0 || warm));
  for (int i = 0; warm && i < 1000; ++i) {
    pthread_rwlock_wrlock(&table_rw);
    pthread_rwlock_unlock(&table_rw);
    reader_side(NULL);
  }
  pthread_t t;
  pthread_create(&t, NULL, reader_side, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, other_side, NULL);
  pthread_join(t, NULL);
  puts("rwlock done");
  return 0;
}
