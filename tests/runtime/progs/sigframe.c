/* A finding made inside a signal handler, whose stack runs through the signal frame into the
 * interrupted code. The interrupted instruction is a ud2 on its own line, right after a store on
 * the line before: the report must name the ud2's line for the interrupted frame (the frame holds
 * the instruction itself, not a return address, so looking up pc - 1 would give the store's).
 * The SIGILL handler releases a mutex the thread does not hold (bad_unlock_balance) and steps
 * over the ud2. Expected: bad_unlock_balance whose stack has main at the line marked UD2. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static pthread_mutex_t ledger = PTHREAD_MUTEX_INITIALIZER;
volatile int before_trap;

static void on_ill(int sig, siginfo_t* info, void* ctx) {
  (void)sig;
  (void)info;
  pthread_mutex_unlock(&ledger); /* not held: bad_unlock_balance, reported from here */
  ((ucontext_t*)ctx)->uc_mcontext.gregs[REG_RIP] += 2; /* over the ud2 */
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_ill;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGILL, &sa, NULL);
  pthread_mutex_lock(&ledger); /* the runtime knows the mutex */
  pthread_mutex_unlock(&ledger);
  before_trap = 1;
  __asm__ volatile("ud2"); /* UD2 */
  printf("sigframe done\n");
  return 0;
}
