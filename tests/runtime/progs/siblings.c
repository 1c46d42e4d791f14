/* Locks made at one place and nested. Every object here gets its mutex from obj_new() through
 * a helper (as a C++ lock wrapper or a library's lock_new() does), all in one loop (make_all),
 * so all of them share one init-site class. Nesting two of them is normal in real code; what
 * matters is the order.
 *
 *   ordered   two threads each walk parent -> child over a chain of objects, and lock pairs of
 *             table buckets in address order: clean.
 *   inverted  thread 1 nests a then b, thread 2 later nests b then a (never at the same time,
 *             so it never hangs): a circular dependency between those two locks.
 *   guarded   the same inversion, both times under one table lock: guarded, not a deadlock.
 *   self      one object's lock taken again by its owner (timed): recursive locking.
 *   warm      a then b a thousand times (the pair's chain goes on the fast path), then b then a
 *             once: the circular dependency still found.
 *   gated     a then b under the table lock a thousand times (fast path: table lock, a, b),
 *             then b then a under it: guarded, and once more without it: a circular dependency.
 *   reborn    a then b; b destroyed and freed, and made again by the same code (same class) at
 *             the same address; then b then a: clean (the new lock does not inherit the old
 *             lock's order).
 *   reborn2   as reborn, but a then b is taken again (a thousand times) with the new lock before
 *             b then a: the circular dependency found.
 *   parents   x then p once; then 1000 rounds of two parents (p, q) over two children (c, d):
 *             p then c, q then c, p then d, q then d (each child's key memo keeps one parent, so
 *             the parents' child memos serve); then p then x: the circular dependency between p
 *             and x found (p's memo knows its two children, not x).
 *   brood     one parent over four children, 1000 rounds of p then c1, c2, c3, c4: the parent's
 *             memo holds two, the pair cache the rest: clean, and nearly all on the fast path.
 *   memo      b then x once; a then b a thousand times (b's key memo learns the pair a, b); then
 *             x then b: a new pair whose inner lock is b, checked by the engine (not vouched for
 *             by b's memo): the circular dependency between b and x found.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct obj {
  pthread_mutex_t lock;
  struct obj* next;
  int value;
};

__attribute__((noinline)) static void obj_lock_init(struct obj* o) {
  pthread_mutex_init(&o->lock, NULL);
}

/* Memory for the object: a fresh block, or `reuse` (an object's memory after its end, as an
 * allocator hands a freed block back). */
__attribute__((noinline)) static struct obj* obj_new(struct obj* reuse) {
  struct obj* o = reuse ? memset(reuse, 0, sizeof *reuse) : calloc(1, sizeof *o);
  obj_lock_init(o);
  return o;
}

enum { kChain = 8, kBuckets = 16, kObjs = kChain + kBuckets + 2 };
static struct obj* objs[kObjs];
static struct obj** chain = objs;
static struct obj** buckets = objs + kChain;
static struct obj *acct_a, *acct_b;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t turn;
static int use_table;

static void walk_chain(void) {
  for (int i = 0; i + 1 < kChain; ++i) {
    pthread_mutex_lock(&chain[i]->lock);
    pthread_mutex_lock(&chain[i + 1]->lock);
    chain[i + 1]->value += chain[i]->value;
    pthread_mutex_unlock(&chain[i + 1]->lock);
    pthread_mutex_unlock(&chain[i]->lock);
  }
}

static void move_between_buckets(int x, int y) {
  struct obj* lo = buckets[x] < buckets[y] ? buckets[x] : buckets[y];
  struct obj* hi = buckets[x] < buckets[y] ? buckets[y] : buckets[x];
  pthread_mutex_lock(&lo->lock);
  pthread_mutex_lock(&hi->lock);
  lo->value--;
  hi->value++;
  pthread_mutex_unlock(&hi->lock);
  pthread_mutex_unlock(&lo->lock);
}

__attribute__((noinline)) static void transfer(struct obj* from, struct obj* to) {
  if (use_table) pthread_mutex_lock(&table_lock);
  pthread_mutex_lock(&from->lock);
  pthread_mutex_lock(&to->lock);
  from->value--;
  to->value++;
  pthread_mutex_unlock(&to->lock);
  pthread_mutex_unlock(&from->lock);
  if (use_table) pthread_mutex_unlock(&table_lock);
}

static void* ordered_worker(void* arg) {
  int seed = (int)(long)arg;
  for (int round = 0; round < 200; ++round) {
    walk_chain();
    move_between_buckets((seed + round) % kBuckets, (seed * 7 + round * 3 + 1) % kBuckets);
  }
  return NULL;
}

static void* first_half(void* arg) {
  (void)arg;
  transfer(acct_a, acct_b);
  pthread_barrier_wait(&turn);
  return NULL;
}

static void* second_half(void* arg) {
  (void)arg;
  pthread_barrier_wait(&turn);  /* only after the first thread is done: never hangs */
  transfer(acct_b, acct_a);
  return NULL;
}

__attribute__((noinline)) static void make_all(int from, struct obj* reuse) {
  for (int i = from; i < kObjs; ++i) objs[i] = obj_new(reuse);
  acct_a = objs[kObjs - 2];
  acct_b = objs[kObjs - 1];
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "ordered";
  int reborn = strncmp(mode, "reborn", 6) == 0;
  struct obj* old_b = NULL;
  for (int pass = 0; pass <= reborn; ++pass) {
    if (pass == 1) {
      for (int i = 0; i < 10; ++i) transfer(acct_a, acct_b);
      old_b = acct_b;
      pthread_mutex_destroy(&old_b->lock);  /* b's end; its memory is made into a new b */
    }
    make_all(pass ? kObjs - 1 : 0, old_b);  /* one call site: the new lock has the old one's class */
  }
  pthread_t t1, t2;
  if (strcmp(mode, "ordered") == 0) {
    pthread_create(&t1, NULL, ordered_worker, (void*)1L);
    pthread_create(&t2, NULL, ordered_worker, (void*)2L);
  } else if (strcmp(mode, "inverted") == 0 || strcmp(mode, "guarded") == 0) {
    use_table = strcmp(mode, "guarded") == 0;
    pthread_barrier_init(&turn, NULL, 2);
    pthread_create(&t1, NULL, first_half, NULL);
    pthread_create(&t2, NULL, second_half, NULL);
  } else if (strcmp(mode, "warm") == 0) {
    for (int i = 0; i < 1000; ++i) transfer(acct_a, acct_b);
    transfer(acct_b, acct_a);
    puts("siblings done");
    return 0;
  } else if (strcmp(mode, "parents") == 0) {
    struct obj *p = chain[0], *q = chain[1], *c = chain[2], *d = chain[3], *x = chain[4];
    transfer(x, p);
    for (int i = 0; i < 1000; ++i) {
      transfer(p, c);
      transfer(q, c);
      transfer(p, d);
      transfer(q, d);
    }
    transfer(p, x);
    puts("siblings done");
    return 0;
  } else if (strcmp(mode, "brood") == 0) {
    for (int i = 0; i < 1000; ++i)
      for (int k = 1; k <= 4; ++k) transfer(chain[0], chain[k]);
    puts("siblings done");
    return 0;
  } else if (strcmp(mode, "memo") == 0) {
    struct obj* x = chain[0];
    transfer(acct_b, x);
    for (int i = 0; i < 1000; ++i) transfer(acct_a, acct_b);
    transfer(x, acct_b);
    puts("siblings done");
    return 0;
  } else if (strcmp(mode, "gated") == 0) {
    use_table = 1;
    for (int i = 0; i < 1000; ++i) transfer(acct_a, acct_b);
    transfer(acct_b, acct_a);
    use_table = 0;
    transfer(acct_b, acct_a);
    puts("siblings done");
    return 0;
  } else if (reborn) {
    if (acct_b == old_b) puts("reborn at the same address");
    if (strcmp(mode, "reborn2") == 0)
      for (int i = 0; i < 1000; ++i) transfer(acct_a, acct_b);
    transfer(acct_b, acct_a);
    puts("siblings done");
    return 0;
  } else if (strcmp(mode, "self") == 0) {
    pthread_mutex_lock(&acct_a->lock);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 50 * 1000 * 1000;
    if (t.tv_nsec >= 1000000000L) {
      t.tv_sec++;
      t.tv_nsec -= 1000000000L;
    }
    int rc = pthread_mutex_timedlock(&acct_a->lock, &t);
    printf("relock: %s\n", rc == ETIMEDOUT ? "timed out" : "?");
    pthread_mutex_unlock(&acct_a->lock);
    puts("siblings done");
    return 0;
  } else {
    fprintf(stderr, "usage: siblings ordered|inverted|guarded|self|warm|parents|brood|memo|gated|reborn|reborn2\n");
    return 2;
  }
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  puts("siblings done");
  return 0;
}
