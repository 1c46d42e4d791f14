/* Thread cancellation inside a condition wait: glibc re-takes the mutex and runs the cleanup
 * handler, which unlocks it. Then a child process is started with exec (it must run under the
 * runtime too and write its own log). Expected: no findings in either process. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int waiting;

static void unlock_it(void* m) { pthread_mutex_unlock(m); }

static void* waiter(void* arg) {
  pthread_mutex_lock(&wait_lock);
  pthread_cleanup_push(unlock_it, &wait_lock);
  waiting = 1;
  pthread_cond_signal(&wake);
  for (;;) pthread_cond_wait(&wake, &wait_lock);
  pthread_cleanup_pop(1);
  return arg;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    pthread_mutex_lock(&wait_lock);
    pthread_mutex_unlock(&wait_lock);
    puts("child ran");
    return 0;
  }
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  pthread_mutex_lock(&wait_lock);
  while (!waiting) pthread_cond_wait(&wake, &wait_lock);
  pthread_mutex_unlock(&wait_lock);
  pthread_cancel(t);
  void* res = NULL;
  pthread_join(t, &res);
  pthread_mutex_lock(&wait_lock);
  pthread_mutex_unlock(&wait_lock);
  printf("cancelled %d\n", res == PTHREAD_CANCELED);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", argv[0], "child", (char*)NULL);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
