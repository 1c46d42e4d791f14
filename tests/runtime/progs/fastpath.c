/* Programs whose locks go through the runtime's fast path (chains the engine has already
 * validated are handled without it) before the interesting event, so that event depends on the
 * engine having been told, late, what the thread holds. Modes:
 *   warm_edge   a lock taken many times on its own, then held while a new lock is taken; another
 *               thread later nests them the other way. Expected: circular_dependency (warm_a,
 *               warm_c).
 *   warm_exit   a thread takes a warmed lock and ends holding it. Expected: still_has_locks_held.
 *   hand        hand-over-hand (each lock released before the next-but-one is taken, so releases
 *               come out of order), many rounds; then another thread closes a cycle over three
 *               of the locks. Expected: one circular_dependency over hand_1, hand_2, hand_3.
 *   hand_ok     the hand-over-hand rounds alone. Expected: clean.
 *   recreate    a mutex re-created in the same memory without destroy or init (as `new
 *               std::mutex` over a freed one does), taken in the opposite order in its second
 *               life. Expected: clean (a new lifetime inherits nothing).
 *   memo_copy   a mutex that was nested over memo_d has its bytes copied over another, used
 *               mutex (a struct copy), which is then nested over memo_d in its new life; another
 *               thread nests them the other way. Expected: one circular_dependency (the copy
 *               brought the first mutex's child memo along, which must not vouch for the new
 *               life's chains).
 *   memo_signal memo_p -> memo_c nested many times with no signal handler; then a SIGUSR1
 *               handler that takes memo_c is installed and run, and the nesting repeated with
 *               signals enabled. Expected: inconsistent_lock_state for memo_c (the chain
 *               validated without handlers says nothing about it with them).
 *   recursive_outer  a recursive mutex with a plain one nested under it many times (the chain
 *               goes on the fast path), then taken twice around the nesting and released twice;
 *               another thread tries it after each release. Expected: "busy free" printed (the
 *               recursion count is the program's: nothing of lockhound's may be kept in it) and
 *               no finding.
 *   first_thread  while the process has one thread (the fast path then takes and frees a mutex
 *               with plain stores, as glibc does), warm_a is nested over warm_c many times and
 *               then held; a first thread is created and blocks on warm_a; once the mutex word
 *               says it has a waiter, main frees it. Expected: the thread is woken ("woken"
 *               printed) and no finding. A release that still believed the process single-
 *               threaded would free the word without waking the waiter: a hang.
 *   count N     N rounds of one lock/unlock. (The test compares reported acquisition counts.) */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pthread_mutex_t warm_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t warm_c = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t warm_other = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t hand_0 = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t hand_1 = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t hand_2 = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t hand_3 = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t outer_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t memo_d = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t memo_p = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t memo_c = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t rec_outer = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t* copied;

/* Takes m many times on its own, then another lock once: the engine last heard of m when it was
 * first taken, and hears of the other lock (a slow event) with m long released. Without the
 * engine's copy of the held stack being brought up to date at each slow event, it would still
 * think m held: a false edge to warm_other, and every later edge from the wrong lock. */
static void warm(pthread_mutex_t* m) {
  for (int i = 0; i < 1000; ++i) {
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
  }
  pthread_mutex_lock(&warm_other);
  pthread_mutex_unlock(&warm_other);
}

static void* warm_edge_first(void* arg) {
  warm(&warm_a);
  pthread_mutex_lock(&warm_a);
  pthread_mutex_lock(&warm_c);  /* a new chain: the engine must know warm_a is held */
  pthread_mutex_unlock(&warm_c);
  pthread_mutex_unlock(&warm_a);
  return arg;
}

static void* warm_edge_second(void* arg) {
  pthread_mutex_lock(&warm_c);
  pthread_mutex_lock(&warm_a);
  pthread_mutex_unlock(&warm_a);
  pthread_mutex_unlock(&warm_c);
  return arg;
}

static void* warm_exit(void* arg) {
  warm(&warm_a);
  pthread_mutex_lock(&warm_a);
  return arg;
}

static pthread_mutex_t* hands[4] = {&hand_0, &hand_1, &hand_2, &hand_3};

static void* hand_over_hand(void* arg) {
  for (int round = 0; round < 2000; ++round) {
    pthread_mutex_lock(hands[0]);
    for (int i = 1; i < 4; ++i) {
      pthread_mutex_lock(hands[i]);
      pthread_mutex_unlock(hands[i - 1]);  /* not the most recent: out of order */
    }
    pthread_mutex_unlock(hands[3]);
  }
  return arg;
}

static void* close_cycle(void* arg) {
  pthread_mutex_lock(&hand_3);
  pthread_mutex_lock(&hand_1);
  pthread_mutex_unlock(&hand_1);
  pthread_mutex_unlock(&hand_3);
  return arg;
}

static void run(void* (*fn)(void*)) {
  pthread_t t;
  pthread_create(&t, NULL, fn, NULL);
  pthread_join(t, NULL);
}

static void nest(pthread_mutex_t* x, pthread_mutex_t* y) {
  for (int i = 0; i < 100; ++i) {
    pthread_mutex_lock(x);
    pthread_mutex_lock(y);
    pthread_mutex_unlock(y);
    pthread_mutex_unlock(x);
  }
}

static void* memo_copy_reverse(void* arg) {
  nest(&memo_d, copied);
  return arg;
}

static void* try_rec_outer(void* arg) {
  int rc = pthread_mutex_trylock(&rec_outer);
  if (rc == 0) pthread_mutex_unlock(&rec_outer);
  *(int*)arg = rc;
  return NULL;
}

static const char* rec_outer_state(void) {
  int rc = -1;
  pthread_t t;
  pthread_create(&t, NULL, try_rec_outer, &rc);
  pthread_join(t, NULL);
  return rc == 0 ? "free" : rc == EBUSY ? "busy" : "?";
}

static void on_usr1(int sig) {
  (void)sig;
  pthread_mutex_lock(&memo_c);
  pthread_mutex_unlock(&memo_c);
}

/* A timed lock: lockhound's own waits (pthread_mutex_lock) wake in slices to watch for
 * deadlocks, which would hide a lost wake-up; this one waits for the wake-up or 60 s. */
static void* take_warm_a(void* arg) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 60;
  if (pthread_mutex_timedlock(&warm_a, &deadline) != 0) {
    printf("not woken\n");
    exit(1);
  }
  pthread_mutex_unlock(&warm_a);
  return arg;
}

static void first_thread(void) {
  for (int i = 0; i < 1000; ++i) nest(&warm_a, &warm_c);
  pthread_mutex_lock(&warm_a);
  pthread_t t;
  pthread_create(&t, NULL, take_warm_a, NULL);
  /* glibc's word is 2 once a thread waits on it; 30 s without one is a failure of the test. */
  for (int i = 0; __atomic_load_n(&warm_a.__data.__lock, __ATOMIC_RELAXED) != 2; ++i) {
    if (i == 30000) {
      printf("no waiter\n");
      exit(1);
    }
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  pthread_mutex_unlock(&warm_a);
  pthread_join(t, NULL);
  printf("woken\n");
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "warm_edge")) {
    run(warm_edge_first);
    run(warm_edge_second);
  } else if (!strcmp(mode, "warm_exit")) {
    run(warm_exit);
  } else if (!strcmp(mode, "hand") || !strcmp(mode, "hand_ok")) {
    run(hand_over_hand);
    if (!strcmp(mode, "hand")) run(close_cycle);
  } else if (!strcmp(mode, "recreate")) {
    static const pthread_mutex_t initializer = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_t* pool = malloc(sizeof *pool);
    memcpy(pool, &initializer, sizeof *pool);
    nest(&outer_lock, pool);
    memcpy(pool, &initializer, sizeof *pool); /* a new mutex where the old one was */
    nest(pool, &outer_lock);
    free(pool);
  } else if (!strcmp(mode, "memo_copy")) {
    static const pthread_mutex_t initializer = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_t* first = malloc(sizeof *first);
    copied = malloc(sizeof *copied);
    memcpy(first, &initializer, sizeof *first);
    memcpy(copied, &initializer, sizeof *copied);
    nest(first, &memo_d);
    pthread_mutex_lock(copied); /* its first life: known, unrelated to memo_d */
    pthread_mutex_unlock(copied);
    memcpy(copied, first, sizeof *copied); /* a new life, with the first mutex's bytes */
    nest(copied, &memo_d);
    run(memo_copy_reverse);
    free(first);
    free(copied);
  } else if (!strcmp(mode, "memo_signal")) {
    nest(&memo_p, &memo_c);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    nest(&memo_p, &memo_c);
  } else if (!strcmp(mode, "recursive_outer")) {
    nest(&rec_outer, &memo_d);
    nest(&rec_outer, &memo_c);
    pthread_mutex_lock(&rec_outer);
    pthread_mutex_lock(&rec_outer);
    nest(&rec_outer, &memo_d);
    pthread_mutex_unlock(&rec_outer);
    printf("%s ", rec_outer_state()); /* held once more */
    pthread_mutex_unlock(&rec_outer);
    printf("%s\n", rec_outer_state());
  } else if (!strcmp(mode, "first_thread")) {
    first_thread();
  } else if (!strcmp(mode, "count") && argc > 2) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; ++i) {
      pthread_mutex_lock(&warm_a);
      pthread_mutex_unlock(&warm_a);
    }
  } else {
    fprintf(stderr, "usage: fastpath warm_edge|warm_exit|hand|hand_ok|recreate|memo_copy|memo_signal|recursive_outer|first_thread|count N\n");
    return 2;
  }
  printf("fastpath %s done\n", mode);
  return 0;
}
