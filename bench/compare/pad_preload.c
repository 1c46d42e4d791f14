/* pad_preload: an LD_PRELOAD library that adds work before every pthread_mutex_lock and
 * pthread_mutex_unlock, then calls glibc's: PADK rounds of independent register arithmetic (7
 * instructions a round, no memory access) and PADL loads from a small static array (always in
 * the cache, 6 instructions each). It measures what per-call work of either kind costs a workload
 * apart from lockhound's: with 100k mutexes visited at random, a handful of extra loads per pair
 * decides whether the CPU overlaps one step's cache miss with the next (docs/performance.md).
 *
 *   cc -O2 -shared -fPIC pad_preload.c -o pad_preload.so -ldl
 *   PADK=3 LD_PRELOAD=./pad_preload.so ./many_phases 4
 *   PADL=4 LD_PRELOAD=./pad_preload.so ./many_phases 4 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

typedef int (*lock_fn)(pthread_mutex_t*);
static lock_fn real_lock, real_unlock;
static int rounds, loads;
static volatile long cached[64];
static volatile long sink;

__attribute__((constructor)) static void pad_init(void) {
  *(void**)&real_lock = dlsym(RTLD_NEXT, "pthread_mutex_lock"); /* POSIX's function-from-void* */
  *(void**)&real_unlock = dlsym(RTLD_NEXT, "pthread_mutex_unlock");
  const char* k = getenv("PADK");
  rounds = k ? atoi(k) : 0;
  const char* l = getenv("PADL");
  loads = l ? atoi(l) : 0;
}

static inline void pad(void) {
  unsigned long a = 0, b = 0, c = 0, d = 0;
  for (int k = 0; k < rounds; ++k) {
    a += 1;
    b += 2;
    c += 3;
    d += 4;
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));
  }
  long sum = 0;
  for (int k = 0; k < loads; ++k) sum += cached[k & 63];
  if (loads) sink = sum;
}

int pthread_mutex_lock(pthread_mutex_t* m) {
  if (!real_lock) pad_init(); /* a lock before the constructors ran */
  pad();
  return real_lock(m);
}

int pthread_mutex_unlock(pthread_mutex_t* m) {
  if (!real_unlock) pad_init();
  pad();
  return real_unlock(m);
}
