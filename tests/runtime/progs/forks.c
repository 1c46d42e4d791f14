/* The child of a fork inverts an order the parent established. Each process reports its own
 * problems in its own log (PREFIX.PID): the child has the cycle, the parent is clean.
 *
 *   forks          as above
 *   forks clean    the child empties its environment (as nginx does for its workers) and keeps
 *                  the parent's order: nothing to report */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

pthread_mutex_t fork_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t fork_b = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char** argv) {
  int clean = argc > 1 && strcmp(argv[1], "clean") == 0;
  pthread_mutex_lock(&fork_a);
  pthread_mutex_lock(&fork_b);
  pthread_mutex_unlock(&fork_b);
  pthread_mutex_unlock(&fork_a);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0 && clean) {
    clearenv();
    pthread_mutex_lock(&fork_a);
    pthread_mutex_lock(&fork_b);
    pthread_mutex_unlock(&fork_b);
    pthread_mutex_unlock(&fork_a);
    printf("child %d\n", (int)getpid());
    return 0;
  }
  if (pid == 0) {
    pthread_mutex_lock(&fork_b);
    pthread_mutex_lock(&fork_a);
    pthread_mutex_unlock(&fork_a);
    pthread_mutex_unlock(&fork_b);
    printf("child %d\n", (int)getpid());
    return 0;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("parent, child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
