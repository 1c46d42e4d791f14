/* Stress: thousands of threads, a million distinct locks, a fork storm, a signal storm and a storm
 * of signal handlers left by siglongjmp, all with correct locking. Expected: no crash, no hang, no
 * findings, bounded memory (the program prints its peak RSS). Mode by argv[1]: threads | locks |
 * churn | forks | signals | jumps | held. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void* small_worker(void* arg) {
  pthread_mutex_t own;
  pthread_mutex_init(&own, NULL);
  pthread_mutex_lock(&outer);
  pthread_mutex_lock(&own);
  pthread_mutex_lock(&counter_lock);
  counter++;
  pthread_mutex_unlock(&counter_lock);
  pthread_mutex_unlock(&own);
  pthread_mutex_unlock(&outer);
  pthread_mutex_destroy(&own);
  return arg;
}

static int threads(void) {
  enum { kBatch = 200, kBatches = 20 };
  pthread_t t[kBatch];
  for (int b = 0; b < kBatches; ++b) {
    for (int i = 0; i < kBatch; ++i)
      if (pthread_create(&t[i], NULL, small_worker, NULL) != 0) return 1;
    for (int i = 0; i < kBatch; ++i) pthread_join(t[i], NULL);
  }
  return counter == kBatch * kBatches ? 0 : 1;
}

static int locks(void) {
  enum { kLocks = 1000000, kPlain = 100000 };
  pthread_mutex_t* m = malloc(sizeof *m * kLocks);
  for (int i = 0; i < kLocks; ++i) pthread_mutex_init(&m[i], NULL);
  for (int i = 0; i < kLocks; ++i) {
    pthread_mutex_lock(&outer);
    pthread_mutex_lock(&m[i]);
    pthread_mutex_unlock(&m[i]);
    pthread_mutex_unlock(&outer);
  }
  for (int i = 0; i < kLocks; ++i) pthread_mutex_destroy(&m[i]);
  /* Locks never initialised by a call (like std::mutex): one class per lock. */
  static const pthread_mutex_t init = PTHREAD_MUTEX_INITIALIZER;
  for (int i = 0; i < kPlain; ++i) m[i] = init;
  for (int i = 0; i < kPlain; ++i) {
    pthread_mutex_lock(&outer);
    pthread_mutex_lock(&m[i]);
    pthread_mutex_unlock(&m[i]);
    pthread_mutex_unlock(&outer);
  }
  free(m);
  return 0;
}

/* A million objects, each made, nested under a long-lived parent made by the same code (one
 * class: each pair is checked per pair of locks), and destroyed: what the checker keeps of a
 * pair must end with its locks (bounded memory). */
struct node {
  pthread_mutex_t m;
  long v;
};
__attribute__((noinline)) static struct node* node_new(void) {
  struct node* n = malloc(sizeof *n);
  pthread_mutex_init(&n->m, NULL);
  n->v = 0;
  return n;
}
static int churn(void) {
  struct node* parent = NULL;
  for (long i = 0; i <= 1000000; ++i) {
    struct node* child = node_new();
    if (!parent) {
      parent = child;
      continue;
    }
    pthread_mutex_lock(&parent->m);
    pthread_mutex_lock(&child->m);
    parent->v += ++child->v;
    pthread_mutex_unlock(&child->m);
    pthread_mutex_unlock(&parent->m);
    pthread_mutex_destroy(&child->m);
    free(child);
  }
  return parent->v == 1000000 ? 0 : 1;
}

static int forks(void) {
  for (int i = 0; i < 200; ++i) {
    pthread_mutex_lock(&outer);
    pid_t pid = fork();
    pthread_mutex_unlock(&outer);
    if (pid == 0) {
      pthread_mutex_lock(&outer);
      pthread_mutex_lock(&counter_lock);
      pthread_mutex_unlock(&counter_lock);
      pthread_mutex_unlock(&outer);
      _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
      return 1;
  }
  return 0;
}

static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t received;
static volatile int stop_sending;

static void on_signal(int sig) {
  (void)sig;
  pthread_mutex_lock(&handler_lock);
  received++;
  pthread_mutex_unlock(&handler_lock);
}

static void* sender(void* arg) {
  pthread_t target = *(pthread_t*)arg;
  while (!stop_sending) {
    pthread_kill(target, SIGUSR1);
    sched_yield();
  }
  return NULL;
}

/* One round of the storms' loop: the handler's lock, taken only with the signal blocked (correct:
 * the handler cannot interrupt its holder), then the counter. */
static void storm_round(const sigset_t* usr1) {
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, usr1, &old);
  pthread_mutex_lock(&handler_lock);
  pthread_mutex_unlock(&handler_lock);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_mutex_lock(&counter_lock);
  counter++;
  pthread_mutex_unlock(&counter_lock);
}

/* Installs `handler` for SIGUSR1 and starts a thread sending it to this one. */
static pthread_t storm_start(void (*handler)(int), int flags, sigset_t* usr1) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigaction(SIGUSR1, &sa, NULL);
  sigemptyset(usr1);
  sigaddset(usr1, SIGUSR1);
  static pthread_t target; /* outlives this call: the sender reads it */
  target = pthread_self();
  pthread_t t;
  pthread_create(&t, NULL, sender, &target);
  return t;
}

static void storm_stop(pthread_t sender_thread) {
  stop_sending = 1;
  pthread_join(sender_thread, NULL);
}

static int signals(void) {
  sigset_t usr1;
  pthread_t t = storm_start(on_signal, SA_RESTART, &usr1);
  for (int i = 0; i < 200000; ++i) storm_round(&usr1);
  storm_stop(t);
  return received > 0 ? 0 : 1;
}

/* The handler takes handler_lock, then, when the loop holds nothing (jump_armed), jumps back to
 * the loop's sigsetjmp. */
static sigjmp_buf jump_env;
static volatile sig_atomic_t jump_armed, jumped;

static void on_signal_jump(int sig) {
  on_signal(sig);
  if (jump_armed) {
    jump_armed = 0;
    jumped++;
    siglongjmp(jump_env, 1);
  }
}

static int jumps(void) {
  sigset_t usr1;
  pthread_t t = storm_start(on_signal_jump, 0, &usr1);
  for (volatile int i = 0; i < 200000; i = i + 1) {
    sigsetjmp(jump_env, 1); /* a jump comes back here, holding nothing */
    jump_armed = 1;
    for (volatile int spin = 0; spin < 2000; spin = spin + 1) {
    }
    jump_armed = 0;
    storm_round(&usr1);
  }
  storm_stop(t);
  printf("jumped %d of %d signals\n", (int)jumped, (int)received);
  return jumped > 0 && counter == 200000 ? 0 : 1;
}

/* Ten thousand rwlocks made by one init site (one class), all held at once: as reader, then as
 * writer, released first to last and then last to first, three rounds of each. Holding every
 * bucket of a table (a resize, a checkpoint) must cost the checker about linear time and memory,
 * not a pair per two locks. Prints what was done; each lock's count checks that every lock was
 * really taken. */
static int held(void) {
  enum { kLocks = 10000, kRounds = 3 };
  pthread_rwlock_t* l = malloc(sizeof *l * kLocks);
  long* taken = calloc(kLocks, sizeof *taken);
  for (int i = 0; i < kLocks; ++i) pthread_rwlock_init(&l[i], NULL);
  long acquisitions = 0, releases = 0;
  for (int write = 0; write < 2; ++write)
    for (int reverse = 0; reverse < 2; ++reverse)
      for (int r = 0; r < kRounds; ++r) {
        for (int i = 0; i < kLocks; ++i) {
          if (write) pthread_rwlock_wrlock(&l[i]);
          else pthread_rwlock_rdlock(&l[i]);
          taken[i]++;
          acquisitions++;
        }
        for (int k = 0; k < kLocks; ++k) {
          pthread_rwlock_unlock(&l[reverse ? kLocks - 1 - k : k]);
          releases++;
        }
      }
  int ok = 1;
  for (int i = 0; i < kLocks; ++i) ok &= taken[i] == 4 * kRounds;
  for (int i = 0; i < kLocks; ++i) pthread_rwlock_destroy(&l[i]);
  free(l);
  free(taken);
  printf("held acquisitions=%ld releases=%ld\n", acquisitions, releases);
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "threads";
  int rc = !strcmp(mode, "threads") ? threads()
         : !strcmp(mode, "locks")   ? locks()
         : !strcmp(mode, "churn")   ? churn()
         : !strcmp(mode, "forks")   ? forks()
         : !strcmp(mode, "signals") ? signals()
         : !strcmp(mode, "jumps")   ? jumps()
         : !strcmp(mode, "held")    ? held()
                                    : 2;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%s rc=%d maxrss_kb=%ld\n", mode, rc, ru.ru_maxrss);
  return rc;
}
