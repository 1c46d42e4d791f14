/* An ABBA found, then the process dies before it can exit: argv[1] names how (segv, abort, term,
 * int, kill). The report must already be on disk. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t second_lock = PTHREAD_MUTEX_INITIALIZER;

static void* forward(void* arg) {
  pthread_mutex_lock(&first_lock);
  pthread_mutex_lock(&second_lock);
  pthread_mutex_unlock(&second_lock);
  pthread_mutex_unlock(&first_lock);
  return arg;
}

static void* backward(void* arg) {
  pthread_mutex_lock(&second_lock);
  pthread_mutex_lock(&first_lock);
  pthread_mutex_unlock(&first_lock);
  pthread_mutex_unlock(&second_lock);
  return arg;
}

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "segv";
  pthread_t t;
  pthread_create(&t, NULL, forward, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, backward, NULL);
  pthread_join(t, NULL);
  if (!strcmp(how, "segv")) *(volatile int*)0 = 1;
  if (!strcmp(how, "abort")) abort();
  if (!strcmp(how, "term")) kill(getpid(), SIGTERM);
  if (!strcmp(how, "int")) kill(getpid(), SIGINT);
  if (!strcmp(how, "kill")) kill(getpid(), SIGKILL);
  pause();
  return 0;
}
