/* Locks with no init call, named by the member of the caller's object they are (runtime
 * docs, "Lock first seen at lock time"):
 *   member_names pool    ABBA between a heap struct's lock and the lock of an element of its
 *                        array member, through a pointer: struct pool::pool_lock and
 *                        struct pool::workers[2].lock
 *   member_names local   ABBA between two locks of a struct on the caller's stack: pair.first
 *                        and pair.second */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker {
  int id;
  pthread_mutex_t lock;
};
struct pool {
  long n;
  struct worker workers[4];
  pthread_mutex_t pool_lock;
};

static void __attribute__((noinline)) assign(struct pool* p, int i) {
  pthread_mutex_lock(&p->pool_lock);
  pthread_mutex_lock(&p->workers[i].lock);
  p->workers[i].id = i;
  pthread_mutex_unlock(&p->workers[i].lock);
  pthread_mutex_unlock(&p->pool_lock);
}

static void __attribute__((noinline)) retire(struct pool* p, int i) {
  pthread_mutex_lock(&p->workers[i].lock);
  pthread_mutex_lock(&p->pool_lock);
  p->n--;
  pthread_mutex_unlock(&p->pool_lock);
  pthread_mutex_unlock(&p->workers[i].lock);
}

struct pair {
  int uses;
  pthread_mutex_t first, second;
};

static void __attribute__((noinline)) both_orders(void) {
  struct pair pair;
  memset(&pair, 0, sizeof pair); /* all zeroes: PTHREAD_MUTEX_INITIALIZER */
  pthread_mutex_lock(&pair.first);
  pthread_mutex_lock(&pair.second);
  pair.uses++;
  pthread_mutex_unlock(&pair.second);
  pthread_mutex_unlock(&pair.first);
  pthread_mutex_lock(&pair.second);
  pthread_mutex_lock(&pair.first);
  pair.uses++;
  pthread_mutex_unlock(&pair.first);
  pthread_mutex_unlock(&pair.second);
  printf("uses %d\n", pair.uses);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "pool";
  if (!strcmp(mode, "pool")) {
    struct pool* p = calloc(1, sizeof *p);
    if (!p) return 1;
    assign(p, 2);
    retire(p, 2);
    printf("n %ld\n", p->n);
    free(p);
  } else if (!strcmp(mode, "local")) {
    both_orders();
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
