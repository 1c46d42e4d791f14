/* Signal handlers left with a jump (siglongjmp/longjmp), as timeouts and fault recovery do. The
 * thread is out of signal context from the jump on: a lock it takes afterwards is an ordinary
 * acquisition, with the signal mask the jump left. Each mode ends with main taking table_lock and
 * another thread taking it too, with SIGUSR1 handled and deliverable. Modes:
 *   jump      a SIGUSR1 handler siglongjmps back to main (sigsetjmp saved the mask), 3 times.
 *             Expected: clean (lockhound used to report inconsistent_lock_state here: main's later
 *             acquisitions counted as taken in a signal handler).
 *   jump_lock the same, but the handler takes table_lock before it jumps. Expected: one
 *             inconsistent_lock_state on table_lock (taken in a handler and with the signal on).
 *   longjmp   setjmp/longjmp, which keep the handler's mask (SIGUSR1 stays blocked after a jump,
 *             so a later raise stays pending until main unblocks it: 2 jumps). Expected: clean.
 *   altstack  jump, with the handler on an alternate signal stack (SA_ONSTACK). Expected: clean.
 *   inner     the handler, run once, jumps within itself (its own sigsetjmp), takes table_lock and
 *             returns. Expected: one inconsistent_lock_state on table_lock (the jump left nothing).
 *   hidden    a new thread, which has done nothing lockhound sees, is sent SIGUSR1 and its handler
 *             jumps back; the thread then takes lock_a then lock_b, and main later takes them the
 *             other way. Expected: one circular_dependency (the handler ran unobserved, and the
 *             jump out of it must not leave the thread unobserved for good).
 * Built twice: as is, and with _FORTIFY_SOURCE=2 (sigjump_fortify), where every jump goes
 * through __longjmp_chk. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static sigjmp_buf sig_env;
static jmp_buf plain_env;
static volatile sig_atomic_t lock_in_handler, use_plain, jump_inside;

static void on_usr1(int sig) {
  (void)sig;
  if (jump_inside) {
    sigjmp_buf inner;
    if (sigsetjmp(inner, 0) == 0) siglongjmp(inner, 1);
    pthread_mutex_lock(&table_lock);
    pthread_mutex_unlock(&table_lock);
    return;
  }
  if (lock_in_handler) {
    pthread_mutex_lock(&table_lock);
    pthread_mutex_unlock(&table_lock);
  }
  if (use_plain) longjmp(plain_env, 1);
  siglongjmp(sig_env, 1);
}

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static sigjmp_buf hidden_env;

static void on_usr2(int sig) {
  (void)sig;
  siglongjmp(hidden_env, 1);
}

static void* hidden_thread(void* arg) {
  if (sigsetjmp(hidden_env, 1) == 0) raise(SIGUSR2);
  pthread_mutex_lock(&lock_a);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  return arg;
}

static int hidden(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, NULL);
  pthread_t t;
  pthread_create(&t, NULL, hidden_thread, NULL);
  pthread_join(t, NULL);
  pthread_mutex_lock(&lock_b);
  pthread_mutex_lock(&lock_a);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  printf("sigjump hidden: done\n");
  return 0;
}

static void* other(void* arg) {
  pthread_mutex_lock(&table_lock);
  pthread_mutex_unlock(&table_lock);
  return arg;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "hidden")) return hidden();
  const char* modes[] = {"jump", "jump_lock", "longjmp", "altstack", "inner"};
  int known = 0;
  for (size_t i = 0; i < sizeof modes / sizeof *modes; ++i) known |= !strcmp(mode, modes[i]);
  if (!known) {
    fprintf(stderr, "usage: sigjump jump|jump_lock|longjmp|altstack|inner|hidden\n");
    return 2;
  }
  lock_in_handler = !strcmp(mode, "jump_lock");
  use_plain = !strcmp(mode, "longjmp");
  jump_inside = !strcmp(mode, "inner");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  if (!strcmp(mode, "altstack")) {
    stack_t ss;
    ss.ss_size = 1 << 16;
    ss.ss_sp = malloc(ss.ss_size);
    ss.ss_flags = 0;
    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) return 1;
    sa.sa_flags = SA_ONSTACK;
  }
  sigaction(SIGUSR1, &sa, NULL);
  int jumps = 0;
  for (int i = 0; i < (jump_inside ? 1 : 3); ++i) {
    if (jump_inside) {
      raise(SIGUSR1);
    } else if (use_plain) {
      if (setjmp(plain_env) == 0) raise(SIGUSR1);
      else jumps++;
    } else {
      if (sigsetjmp(sig_env, 1) == 0) raise(SIGUSR1);
      else jumps++;
    }
  }
  if (use_plain) { /* longjmp left SIGUSR1 blocked, as the handler had it: unblock it */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
  }
  pthread_mutex_lock(&table_lock);
  pthread_mutex_unlock(&table_lock);
  pthread_t t;
  pthread_create(&t, NULL, other, NULL);
  pthread_join(t, NULL);
  printf("sigjump %s: %d jumps\n", mode, jumps);
  return 0;
}
