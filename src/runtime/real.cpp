#include "runtime/real.h"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lockhound::runtime::real {

void* lookup(const char* name, const char* version) {
  void* p = version ? dlvsym(RTLD_NEXT, name, version) : nullptr;
  if (!p) p = dlsym(RTLD_NEXT, name);
  return p;
}

#define LOCKHOUND_DEFINE_REAL(ret, name, params, version) name##_fn name##_ptr = nullptr;
LOCKHOUND_REAL_FUNCTIONS(LOCKHOUND_DEFINE_REAL)
#undef LOCKHOUND_DEFINE_REAL

void resolve_all() {
#define LOCKHOUND_RESOLVE_REAL(ret, name, params, version) (void)name();
  LOCKHOUND_REAL_FUNCTIONS(LOCKHOUND_RESOLVE_REAL)
#undef LOCKHOUND_RESOLVE_REAL
}

int thread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  auto f = pthread_sigmask();
  return f ? f(how, set, old) : -1;
}

void exit_now(int code) {
  for (;;) syscall(SYS_exit_group, code);
}

}  // namespace lockhound::runtime::real
