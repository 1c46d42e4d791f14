/* A cache in the style of Unbound's: each hash bin has a pthread spinlock, each entry an rwlock;
 * a lookup takes the bin's spinlock, then the entry's rwlock, then releases the bin (the
 * documented protocol). A spinner may burn CPU while the holder waits for the rwlock, but
 * nothing can hang: a hazard, not a deadlock. Two tables and two kinds of entries are made at
 * different places (four pairs of lock classes) and all go through the same two lines.
 * Expected: one invalid_wait_context finding of severity hazard; exit 0 unless fail_on says. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define BINS 4

struct entry {
  pthread_rwlock_t lock;
  int value;
};
struct table {
  pthread_spinlock_t bin[BINS];
  struct entry* slot[BINS];
};

/* On the heap, as a server's caches are: each lock's class is the place that initialised it. */
static struct table *requests, *replies;
static struct entry *small, *big;

static void init_requests(void) {
  requests = calloc(1, sizeof *requests);
  for (int i = 0; i < BINS; ++i) pthread_spin_init(&requests->bin[i], PTHREAD_PROCESS_PRIVATE);
}
static void init_replies(void) {
  replies = calloc(1, sizeof *replies);
  for (int i = 0; i < BINS; ++i) pthread_spin_init(&replies->bin[i], PTHREAD_PROCESS_PRIVATE);
}
static void init_small(void) {
  small = calloc(BINS, sizeof *small);
  for (int i = 0; i < BINS; ++i) pthread_rwlock_init(&small[i].lock, NULL);
}
static void init_big(void) {
  big = calloc(BINS, sizeof *big);
  for (int i = 0; i < BINS; ++i) pthread_rwlock_init(&big[i].lock, NULL);
}

/* The lookup: bin spinlock, then entry rwlock, then the bin released. */
static __attribute__((noinline)) int lookup(struct table* t, int key) {
  int b = key % BINS;
  pthread_spin_lock(&t->bin[b]);
  struct entry* e = t->slot[b];
  pthread_rwlock_wrlock(&e->lock);
  pthread_spin_unlock(&t->bin[b]);
  int v = ++e->value;
  pthread_rwlock_unlock(&e->lock);
  return v;
}

static void* worker(void* arg) {
  int sum = 0;
  for (int round = 0; round < 100; ++round)
    for (int k = 0; k < BINS; ++k) {
      requests->slot[k] = (round & 1) ? &small[k] : &big[k];
      replies->slot[k] = (round & 1) ? &big[k] : &small[k];
      sum += lookup(requests, k) + lookup(replies, k);
    }
  return (void*)(long)sum;
}

int main(void) {
  init_requests();
  init_replies();
  init_small();
  init_big();
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  printf("spin_rw done\n");
  return 0;
}
