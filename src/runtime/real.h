// The real functions behind the interposed ones (libc's), found with dlsym(RTLD_NEXT) on first
// use, so calls made before the runtime's constructor (other libraries' static initialisers) work.
// Condition variable functions are looked up at their current symbol version: an unversioned
// lookup can return the pre-2.3.2 compatibility implementation, which uses another layout.
#pragma once

#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <threads.h>
#include <time.h>

namespace lockhound::runtime::real {

void* lookup(const char* name, const char* version);

#define LOCKHOUND_REAL_FUNCTIONS(X)                                                              \
  X(int, pthread_mutex_init, (pthread_mutex_t*, const pthread_mutexattr_t*), nullptr)             \
  X(int, pthread_mutex_destroy, (pthread_mutex_t*), nullptr)                                      \
  X(int, pthread_mutex_lock, (pthread_mutex_t*), nullptr)                                         \
  X(int, pthread_mutex_trylock, (pthread_mutex_t*), nullptr)                                      \
  X(int, pthread_mutex_timedlock, (pthread_mutex_t*, const struct timespec*), nullptr)            \
  X(int, pthread_mutex_clocklock, (pthread_mutex_t*, clockid_t, const struct timespec*), nullptr) \
  X(int, pthread_mutex_unlock, (pthread_mutex_t*), nullptr)                                       \
  X(int, pthread_rwlock_init, (pthread_rwlock_t*, const pthread_rwlockattr_t*), nullptr)          \
  X(int, pthread_rwlock_destroy, (pthread_rwlock_t*), nullptr)                                    \
  X(int, pthread_rwlock_rdlock, (pthread_rwlock_t*), nullptr)                                     \
  X(int, pthread_rwlock_wrlock, (pthread_rwlock_t*), nullptr)                                     \
  X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t*), nullptr)                                  \
  X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t*), nullptr)                                  \
  X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t*, const struct timespec*), nullptr)        \
  X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t*, const struct timespec*), nullptr)        \
  X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t*, clockid_t, const struct timespec*), nullptr) \
  X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t*, clockid_t, const struct timespec*), nullptr) \
  X(int, pthread_rwlock_unlock, (pthread_rwlock_t*), nullptr)                                     \
  X(int, pthread_spin_init, (pthread_spinlock_t*, int), nullptr)                                  \
  X(int, pthread_spin_destroy, (pthread_spinlock_t*), nullptr)                                    \
  X(int, pthread_spin_lock, (pthread_spinlock_t*), nullptr)                                       \
  X(int, pthread_spin_trylock, (pthread_spinlock_t*), nullptr)                                    \
  X(int, pthread_spin_unlock, (pthread_spinlock_t*), nullptr)                                     \
  X(int, pthread_cond_wait, (pthread_cond_t*, pthread_mutex_t*), "GLIBC_2.3.2")                   \
  X(int, pthread_cond_timedwait, (pthread_cond_t*, pthread_mutex_t*, const struct timespec*),     \
    "GLIBC_2.3.2")                                                                               \
  X(int, pthread_cond_clockwait,                                                                 \
    (pthread_cond_t*, pthread_mutex_t*, clockid_t, const struct timespec*), nullptr)              \
  X(int, pthread_join, (pthread_t, void**), nullptr)                                              \
  X(int, mtx_init, (mtx_t*, int), nullptr)                                                        \
  X(int, mtx_lock, (mtx_t*), nullptr)                                                             \
  X(int, mtx_trylock, (mtx_t*), nullptr)                                                          \
  X(int, mtx_timedlock, (mtx_t*, const struct timespec*), nullptr)                                \
  X(int, mtx_unlock, (mtx_t*), nullptr)                                                           \
  X(void, mtx_destroy, (mtx_t*), nullptr)                                                         \
  X(int, cnd_wait, (cnd_t*, mtx_t*), nullptr)                                                     \
  X(int, cnd_timedwait, (cnd_t*, mtx_t*, const struct timespec*), nullptr)                        \
  X(int, sigaction, (int, const struct sigaction*, struct sigaction*), nullptr)                   \
  X(int, pthread_sigmask, (int, const sigset_t*, sigset_t*), nullptr)                             \
  X(int, pthread_setname_np, (pthread_t, const char*), nullptr)                                   \
  X(int, sigprocmask, (int, const sigset_t*, sigset_t*), nullptr)                                 \
  X(int, nanosleep, (const struct timespec*, struct timespec*), nullptr)                          \
  X(int, clock_nanosleep, (clockid_t, int, const struct timespec*, struct timespec*), nullptr)    \
  X(int, usleep, (useconds_t), nullptr)                                                           \
  X(unsigned, sleep, (unsigned), nullptr)                                                         \
  X(int, dlclose, (void*), nullptr)                                                               \
  X(int, setuid, (uid_t), nullptr)                                                                \
  X(int, setgid, (gid_t), nullptr)                                                                \
  X(int, seteuid, (uid_t), nullptr)                                                               \
  X(int, setegid, (gid_t), nullptr)                                                               \
  X(int, setreuid, (uid_t, uid_t), nullptr)                                                       \
  X(int, setregid, (gid_t, gid_t), nullptr)                                                       \
  X(int, setresuid, (uid_t, uid_t, uid_t), nullptr)                                               \
  X(int, setresgid, (gid_t, gid_t, gid_t), nullptr)                                               \
  X(int, sem_wait, (sem_t*), nullptr)                                                             \
  X(int, sem_timedwait, (sem_t*, const struct timespec*), nullptr)                                \
  X(int, poll, (struct pollfd*, nfds_t, int), nullptr)                                            \
  X(int, select, (int, fd_set*, fd_set*, fd_set*, struct timeval*), nullptr)                     \
  X(int, epoll_wait, (int, struct epoll_event*, int, int), nullptr)                              \
  X(void, longjmp, (struct __jmp_buf_tag*, int), nullptr)                                        \
  X(void, _longjmp, (struct __jmp_buf_tag*, int), nullptr)                                       \
  X(void, siglongjmp, (struct __jmp_buf_tag*, int), nullptr)                                     \
  X(void, __longjmp_chk, (struct __jmp_buf_tag*, int), nullptr)

#define LOCKHOUND_DECLARE_REAL(ret, name, params, version)                       \
  using name##_fn = ret(*) params;                                                \
  extern name##_fn name##_ptr;                                                    \
  inline name##_fn name() {                                                       \
    name##_fn f = __atomic_load_n(&name##_ptr, __ATOMIC_ACQUIRE);                 \
    if (__builtin_expect(f == nullptr, 0)) {                                      \
      f = reinterpret_cast<name##_fn>(lookup(#name, version));                    \
      __atomic_store_n(&name##_ptr, f, __ATOMIC_RELEASE);                         \
    }                                                                             \
    return f;                                                                     \
  }
LOCKHOUND_REAL_FUNCTIONS(LOCKHOUND_DECLARE_REAL)
#undef LOCKHOUND_DECLARE_REAL

// Resolves every function now (the constructor calls it, before threads exist).
void resolve_all();
// pthread_sigmask without interposition.
int thread_sigmask(int how, const sigset_t* set, sigset_t* old);
// Ends the process now with `code` (exit_group), skipping atexit handlers and interposers.
[[noreturn]] void exit_now(int code);

}  // namespace lockhound::runtime::real
