/* Two pairs of locks of one init site whose addresses mix alike. 4096 mutexes in one malloc'ed
 * array, all made by one pthread_mutex_init call (one class), so two of them nested are checked per pair of
 * locks, and the runtime remembers a validated pair by a key made from both addresses. The
 * program looks for four of them, a b c d, where c's and d's addresses combine as b's and a's do
 * once shifted and xored ((c << 1) ^ d == (b << 1) ^ a): 40-byte mutexes in an array have
 * thousands of such quadruples. Then:
 *
 *   a then b            (the order a -> b)
 *   c then d            validated while c's memo of children is full (c took y1, y2 first), so the
 *                       pair goes into the runtime's shared cache of pairs
 *   b then a            while b's memo is full too (b took z1, z2 first): the pair cache is asked,
 *                       and must not take this new pair for c then d
 *
 * b then a closes a cycle with a then b: one circular dependency between a and b. Each nesting is
 * done twice (the second on the fast path). Prints the four indices, then "pair_collide done". */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { kLocks = 4096, kWindow = 8 };
static pthread_mutex_t* locks;  /* on the heap: a static lock would be a class of its own */

/* The array starts at a 1 MiB boundary and ends below the next one, so the low 20 bits of each
 * address are its offset alone and the quadruple found is the same in every run. */
__attribute__((noinline)) static void make_all(void) {
  void* p = NULL;
  _Static_assert(sizeof(pthread_mutex_t) * kLocks < (1u << 20), "the array fits in 1 MiB");
  if (posix_memalign(&p, 1u << 20, sizeof(pthread_mutex_t) * kLocks) != 0) exit(2);
  locks = p;
  for (int i = 0; i < kLocks; ++i) pthread_mutex_init(&locks[i], NULL);
}

static uint64_t mix(int outer, int inner) {
  return ((uint64_t)(uintptr_t)&locks[outer] << 1) ^ (uint64_t)(uintptr_t)&locks[inner];
}

static void nest(int outer, int inner) {
  for (int k = 0; k < 2; ++k) {
    pthread_mutex_lock(&locks[outer]);
    pthread_mutex_lock(&locks[inner]);
    pthread_mutex_unlock(&locks[inner]);
    pthread_mutex_unlock(&locks[outer]);
  }
}

static int distinct(const int* v, int n) {
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (v[i] == v[j]) return 0;
  return 1;
}

int main(void) {
  make_all();
  /* a b c d, with room below each of b and c for two more children (y1 y2, z1 z2). */
  for (int b = 0; b + kWindow < kLocks / 2; ++b)
    for (int a = b + 1; a <= b + kWindow; ++a)
      for (int c = kLocks / 2; c + kWindow < kLocks; ++c)
        for (int d = c + 1; d <= c + kWindow; ++d) {
          if (mix(c, d) != mix(b, a)) continue;
          int y1 = (d + 1) % kLocks, y2 = (d + 2) % kLocks, z1 = (a + 1) % kLocks, z2 = (a + 2) % kLocks;
          int all[] = {a, b, c, d, y1, y2, z1, z2};
          if (!distinct(all, 8)) continue;
          printf("a=%d b=%d c=%d d=%d\n", a, b, c, d);
          nest(a, b);
          nest(c, y1);
          nest(c, y2);
          nest(c, d);
          nest(b, z1);
          nest(b, z2);
          nest(b, a);
          puts("pair_collide done");
          return 0;
        }
  puts("no colliding quadruple");
  return 1;
}
