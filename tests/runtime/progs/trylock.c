/* The reverse order taken with trylock (backing off when busy) cannot deadlock. Expected: no
 * findings. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t item_lock = PTHREAD_MUTEX_INITIALIZER;

static void* forward(void* arg) {
  pthread_mutex_lock(&queue_lock);
  pthread_mutex_lock(&item_lock);
  pthread_mutex_unlock(&item_lock);
  pthread_mutex_unlock(&queue_lock);
  return arg;
}

static void* backward(void* arg) {
  pthread_mutex_lock(&item_lock);
  if (pthread_mutex_trylock(&queue_lock) == 0) pthread_mutex_unlock(&queue_lock);
  pthread_mutex_unlock(&item_lock);
  return arg;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, forward, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, backward, NULL);
  pthread_join(t, NULL);
  puts("trylock done");
  return 0;
}
