/* A thread joined by a thread that holds a lock the joined one still needs: both wait for ever.
 *
 *   join_held bad     main locks state_lock, then joins the worker, which locks state_lock to
 *                     finish: hangs (the watchdog reports it; run with --watchdog-abort)
 *   join_held good    main unlocks state_lock before the join: no hang, nothing to report
 *   join_held gated   main joins while holding state_lock, but the worker took state_lock and
 *                     finished before: no hang this time, nothing reported (a join is a wait the
 *                     watchdog sees only when it really blocks)
 *
 * Prints "joined" when the join returns. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static int stopped;

static void* worker(void* arg) {
  if (arg) {  // bad: let main take state_lock first
    struct timespec ms100 = {0, 100 * 1000 * 1000};
    nanosleep(&ms100, NULL);
  }
  pthread_mutex_lock(&state_lock);
  stopped = 1;
  pthread_mutex_unlock(&state_lock);
  return NULL;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "bad";
  int bad = strcmp(mode, "bad") == 0;
  pthread_t t;
  pthread_create(&t, NULL, worker, bad ? &t : NULL);
  if (strcmp(mode, "gated") == 0) {
    for (;;) {  // until the worker has been through state_lock
      pthread_mutex_lock(&state_lock);
      int s = stopped;
      pthread_mutex_unlock(&state_lock);
      if (s) break;
      struct timespec ms = {0, 1000 * 1000};
      nanosleep(&ms, NULL);
    }
  }
  pthread_mutex_lock(&state_lock);
  if (strcmp(mode, "good") == 0) pthread_mutex_unlock(&state_lock);
  pthread_join(t, NULL);
  if (strcmp(mode, "good") != 0) pthread_mutex_unlock(&state_lock);
  puts("joined");
  return 0;
}
