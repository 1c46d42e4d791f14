/* Threads named the way programs name them: one names itself with pthread_setname_np after its
 * first lock, the other is named by its creator before it starts locking. They take the two
 * ledger locks in opposite orders (one after the other: no hang). Expected: one
 * circular_dependency whose two sides are "ledger-writer (tid N)" and "audit-reader (tid M)". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t accounts = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t warmup = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t named;

static void* writer(void* arg) {
  pthread_mutex_lock(&warmup); /* the runtime knows this thread before it has a name */
  pthread_mutex_unlock(&warmup);
  pthread_setname_np(pthread_self(), "ledger-writer");
  pthread_mutex_lock(&accounts);
  pthread_mutex_lock(&journal);
  pthread_mutex_unlock(&journal);
  pthread_mutex_unlock(&accounts);
  return arg;
}

static void* reader(void* arg) {
  pthread_barrier_wait(&named); /* the creator has named this thread */
  pthread_mutex_lock(&journal);
  pthread_mutex_lock(&accounts);
  pthread_mutex_unlock(&accounts);
  pthread_mutex_unlock(&journal);
  return arg;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, writer, NULL);
  pthread_join(t, NULL);
  pthread_barrier_init(&named, NULL, 2);
  pthread_create(&t, NULL, reader, NULL);
  pthread_setname_np(t, "audit-reader");
  pthread_barrier_wait(&named);
  pthread_join(t, NULL);
  printf("named done\n");
  return 0;
}
