/* A lock taken in a signal handler, and taken by the thread with that signal deliverable: if the
 * signal arrives while the thread holds it, the handler deadlocks on it. "good": the thread
 * blocks the signal around its critical section, which is the fix. Expected for the bad run:
 * inconsistent_lock_state (class log_lock). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
  (void)sig;
  pthread_mutex_lock(&log_lock);
  handled++;
  pthread_mutex_unlock(&log_lock);
}

int main(int argc, char** argv) {
  int good = argc > 1 && strcmp(argv[1], "good") == 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (good) pthread_sigmask(SIG_BLOCK, &usr1, &old);
  pthread_mutex_lock(&log_lock);
  pthread_mutex_unlock(&log_lock);
  if (good) pthread_sigmask(SIG_SETMASK, &old, NULL);
  raise(SIGUSR1);
  printf("signal done %d\n", (int)handled);
  return 0;
}
