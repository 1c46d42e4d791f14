// glibc's plain-mutex protocol, out of line: the wake of a contended unlock, and the check at
// start that the inline protocol (glibc_mutex.h) matches what glibc's functions do.
#include "runtime/glibc_mutex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/real.h"

namespace lockhound::runtime {

int plain_wake(pthread_mutex_t* m) noexcept {
  syscall(SYS_futex, &m->__data.__lock, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  return 0;
}

// Runs the prologues' protocol against glibc's functions on a scratch mutex (at start, before any
// thread has state): each side must see exactly what the other leaves.
bool mutex_protocol_ok() {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  int tid = static_cast<int>(syscall(SYS_gettid));
  bool ok = real::pthread_mutex_lock()(&m) == 0 && m.__data.__lock == 1 &&
            m.__data.__owner == tid && m.__data.__nusers == 1 && m.__data.__kind == 0;
  ok = ok && !plain_trylock(&m, tid) && real::pthread_mutex_unlock()(&m) == 0 &&
       m.__data.__lock == 0 && m.__data.__owner == 0 && m.__data.__nusers == 0;
  ok = ok && plain_trylock(&m, tid) && real::pthread_mutex_trylock()(&m) == EBUSY &&
       m.__data.__owner == tid && m.__data.__nusers == 1;
  if (ok) plain_unlock(&m);
  ok = ok && m.__data.__lock == 0 && m.__data.__owner == 0 && m.__data.__nusers == 0 &&
       real::pthread_mutex_trylock()(&m) == 0 && real::pthread_mutex_unlock()(&m) == 0;
  return ok && m.__data.__lock == 0 && m.__data.__nusers == 0;
}

}  // namespace lockhound::runtime
