/* spin-2t: pthread spinlocks, each thread on its own (per-CPU data, as spinlocks are used): every
 * step takes the thread's spinlock alone, then its mutex and the spinlock under it, and releases
 * them in reverse order (three acquire/release pairs). The threads share no lock, so plain runs
 * them in parallel; a checker that serialises spinlock operations on its own lock shows here.
 *
 *   spin STEPS THREADS      (each thread does STEPS steps)
 *
 * Prints the process CPU time per acquire/release pair in ns as the last line of stdout. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

static long steps;

struct percpu {
  pthread_spinlock_t spin;
  pthread_mutex_t mutex;
  long count;
};

static void* worker(void* arg) {
  struct percpu* p = arg;
  for (long s = 0; s < steps; ++s) {
    pthread_spin_lock(&p->spin);
    p->count++;
    pthread_spin_unlock(&p->spin);
    pthread_mutex_lock(&p->mutex);
    pthread_spin_lock(&p->spin);
    p->count++;
    pthread_spin_unlock(&p->spin);
    pthread_mutex_unlock(&p->mutex);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 3 || atol(argv[1]) <= 0 || atoi(argv[2]) <= 0 || atoi(argv[2]) > 64) {
    fprintf(stderr, "usage: %s STEPS THREADS (1-64)\n", argv[0]);
    return 2;
  }
  steps = atol(argv[1]);
  int n = atoi(argv[2]);
  struct percpu* p = calloc((size_t)n, 128); /* a cache line or two apart */
  pthread_t t[64];
  if (!p) return 1;
  for (int i = 0; i < n; ++i) {
    struct percpu* q = (struct percpu*)((char*)p + 128 * i);
    pthread_spin_init(&q->spin, PTHREAD_PROCESS_PRIVATE);
    pthread_mutex_init(&q->mutex, NULL);
  }
  double start = now_ns();
  for (int i = 0; i < n; ++i) pthread_create(&t[i], NULL, worker, (char*)p + 128 * i);
  for (int i = 0; i < n; ++i) pthread_join(t[i], NULL);
  double elapsed = now_ns() - start;
  long total = 0;
  for (int i = 0; i < n; ++i) total += ((struct percpu*)((char*)p + 128 * i))->count;
  if (total != 2 * steps * n) return 1;
  printf("%.1f\n", elapsed / (3.0 * steps * n));
  return 0;
}
