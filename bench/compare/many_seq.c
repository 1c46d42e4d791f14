/* many-seq: 100k distinct pthread mutexes, walked in ascending order with varied strides. Each
 * step locks mutex i, then i+1 or i+2, and unlocks them in reverse order, so the orders vary
 * (many different pairs) but are always consistent (lower index first): no cycle exists. The walk
 * starts again at 0 when it reaches the end; the stride pattern changes from one round to the next.
 *
 *   many_seq STEPS [initializer|init] [warm]      (each step is two acquire/release pairs)
 *
 * warm: the same STEPS pairs are walked once, untimed, before the timed pass, so the timed pass
 * measures the steady state of a checker that does its work when it first sees a lock order.
 *
 * How the malloc'ed mutexes are made ready:
 *   initializer (default)  each is assigned PTHREAD_MUTEX_INITIALIZER, as a C++ std::mutex member
 *                          is: 100k unrelated locks, for lockhound 100k classes (one per address)
 *   init                   pthread_mutex_init() in one loop: for lockhound (a class per init call
 *                          site) they are all one class, and two of them nested is checked per
 *                          pair of locks
 *
 * Prints the process CPU time per acquire/release pair in ns as the last line of stdout. */
#include "many_main.h"

// One pass of STEPS pairs from the start of the walk.
static void walk(pthread_mutex_t* m, long steps) {
  long round = 0;
  int i = 0;
  for (long s = 0; s < steps; ++s) {
    int j = i + 1 + (int)((i + round) % 2); /* the second lock: next or next but one */
    pthread_mutex_lock(&m[i]);
    pthread_mutex_lock(&m[j]);
    pthread_mutex_unlock(&m[j]);
    pthread_mutex_unlock(&m[i]);
    i += 1 + (int)((i * 7L + round) % 3); /* stride 1..3, always ascending */
    if (i + 2 >= N) {
      i = 0;
      ++round;
    }
  }
}

int main(int argc, char** argv) { return many_main(argc, argv, walk); }
