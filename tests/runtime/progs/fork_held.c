/* fork() while another thread holds a lock, then the child takes that lock. The thread that
 * held it does not exist in the child, so the lock is never released there: the child hangs.
 *
 *   fork_held bad      the child locks log_lock, held by the logger thread at fork(): hangs
 *                      (lockhound reports it before the wait; with --watchdog-abort the child
 *                      then ends, else the parent kills it after 10 s)
 *   fork_held atfork   a logger thread takes log_lock over and over while main forks, and
 *                      pthread_atfork handlers take log_lock around fork(): the logger cannot
 *                      hold it then, and the child gets it
 *   fork_held reinit   the child re-initialises log_lock before taking it: no hang
 *   fork_held rdlock   the logger holds table_rw for reading, the child takes it for writing:
 *                      hangs too, but who holds a read lock is not known, so nothing is said
 *                      (the watchdog-abort run ends it; the parent kills it otherwise)
 *
 *   fork_held spin     the logger holds the spinlock stat_spin (busy, not sleeping) across the
 *                      fork; the child spins on it for ever (lockhound's spin lockup report names
 *                      the parent's thread as the holder)
 *   fork_held MODE MS  the parent kills a child still running after MS ms (default 10000)
 *
 * Prints what became of the child. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t table_rw = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int ready, done, use_rw;

static void* logger(void* arg) {
  if (use_rw) pthread_rwlock_rdlock(&table_rw);
  else pthread_mutex_lock(&log_lock);
  pthread_mutex_lock(&ready_lock);
  ready = 1;
  pthread_cond_signal(&ready_cond);
  while (!done) pthread_cond_wait(&ready_cond, &ready_lock);
  pthread_mutex_unlock(&ready_lock);
  if (use_rw) pthread_rwlock_unlock(&table_rw);
  else pthread_mutex_unlock(&log_lock);
  return arg;
}

// The atfork mode's logger: takes log_lock again and again, holding it 1 ms each time.
static void* busy_logger(void* arg) {
  struct timespec ms = {0, 1000 * 1000};
  while (!__atomic_load_n(&done, __ATOMIC_RELAXED)) {
    pthread_mutex_lock(&log_lock);
    nanosleep(&ms, NULL);
    pthread_mutex_unlock(&log_lock);
  }
  return arg;
}

pthread_spinlock_t stat_spin;

// The spin mode's logger: holds stat_spin, busy (no sleeping under a spinlock), until done.
static void* spinning_logger(void* arg) {
  pthread_spin_lock(&stat_spin);
  __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
  }
  pthread_spin_unlock(&stat_spin);
  return arg;
}

static void prepare(void) { pthread_mutex_lock(&log_lock); }
static void release(void) { pthread_mutex_unlock(&log_lock); }

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "bad";
  int atfork = strcmp(mode, "atfork") == 0;
  use_rw = strcmp(mode, "rdlock") == 0;
  int spin = strcmp(mode, "spin") == 0;
  pthread_t t;
  if (spin) {
    pthread_spin_init(&stat_spin, PTHREAD_PROCESS_PRIVATE);
    pthread_create(&t, NULL, spinning_logger, NULL);
    struct timespec ms = {0, 1000 * 1000};
    while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) nanosleep(&ms, NULL);
  } else if (atfork) {
    pthread_atfork(prepare, release, release);
    pthread_create(&t, NULL, busy_logger, NULL);
    struct timespec ms = {0, 5 * 1000 * 1000};
    nanosleep(&ms, NULL);  // the logger is in its loop
  } else {
    pthread_create(&t, NULL, logger, NULL);
    pthread_mutex_lock(&ready_lock);
    while (!ready) pthread_cond_wait(&ready_cond, &ready_lock);
    pthread_mutex_unlock(&ready_lock);
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (strcmp(mode, "reinit") == 0) pthread_mutex_init(&log_lock, NULL);
    if (spin) {
      pthread_spin_lock(&stat_spin);
      pthread_spin_unlock(&stat_spin);
    } else if (use_rw) {
      pthread_rwlock_wrlock(&table_rw);
      pthread_rwlock_unlock(&table_rw);
    } else {
      pthread_mutex_lock(&log_lock);
      pthread_mutex_unlock(&log_lock);
    }
    _exit(0);
  }
  int status = 0;
  struct timespec pause = {0, 10 * 1000 * 1000};
  int wait_ms = argc > 2 ? atoi(argv[2]) : 10000;
  for (int i = 0; i < wait_ms / 10 && waitpid(pid, &status, WNOHANG) == 0; ++i) nanosleep(&pause, NULL);
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    puts("child hung");
  } else if (WIFSIGNALED(status)) {
    printf("child ended by signal %d\n", WTERMSIG(status));
  } else {
    printf("child exit %d\n", WEXITSTATUS(status));
  }
  pthread_mutex_lock(&ready_lock);
  __atomic_store_n(&done, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&ready_cond);
  pthread_mutex_unlock(&ready_lock);
  pthread_join(t, NULL);
  return 0;
}
