/* `chain K`: takes links[K] then links[K+1] (0 <= K < 16), in a thread. Sixteen of these, K = 0..15,
 * make the chain links[0] -> links[1] -> ... -> links[16]: one edge each, no cycle. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

pthread_mutex_t links[17] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER};
static int k;

static void* work(void* arg) {
  for (int i = 0; i < 1000; ++i) {
    pthread_mutex_lock(&links[k]);
    pthread_mutex_lock(&links[k + 1]);
    pthread_mutex_unlock(&links[k + 1]);
    pthread_mutex_unlock(&links[k]);
  }
  return arg;
}

int main(int argc, char** argv) {
  k = argc > 1 ? atoi(argv[1]) : 0;
  if (k < 0 || k > 15) return 2;
  pthread_t t;
  pthread_create(&t, NULL, work, NULL);
  pthread_join(t, NULL);
  printf("chain %d done\n", k);
  return 0;
}
