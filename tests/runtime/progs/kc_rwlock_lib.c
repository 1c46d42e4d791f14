// A reader-writer lock wrapper in a shared library built -O2, in the shape of Kyoto Cabinet's
// RWLock::lock_writer() in libkyotocabinet.so: each lock function checks the result of its lock
// call, so the call is not a tail call and returns into the wrapper, which then returns holding
// the lock. By the time another lock is taken under it, the wrapper's frame is gone.
#include <pthread.h>
#include <stdlib.h>

typedef struct kc_rwlock {
  pthread_rwlock_t rw;
} kc_rwlock;

kc_rwlock* kc_rwlock_new(void) {
  kc_rwlock* l = malloc(sizeof *l);
  if (!l || pthread_rwlock_init(&l->rw, NULL) != 0) abort();
  return l;
}

void kc_rwlock_free(kc_rwlock* l) {
  pthread_rwlock_destroy(&l->rw);
  free(l);
}

void kc_lock_writer(kc_rwlock* l) {
  if (pthread_rwlock_wrlock(&l->rw) != 0) abort();
}

void kc_lock_reader(kc_rwlock* l) {
  if (pthread_rwlock_rdlock(&l->rw) != 0) abort();
}

void kc_unlock(kc_rwlock* l) {
  if (pthread_rwlock_unlock(&l->rw) != 0) abort();
}
