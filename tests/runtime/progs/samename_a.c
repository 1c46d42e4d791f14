/* Two files, each with its own `static pthread_mutex_t lock` (a common C idiom): two locks, two
 * classes, though the symbol table names both "lock". See samename_b.c for the modes. */
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void queue_push(void (*inner)(void)) {
  pthread_mutex_lock(&lock);
  if (inner) inner();
  pthread_mutex_unlock(&lock);
}
