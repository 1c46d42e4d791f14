#include "symbolize/big_stack.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <exception>

namespace lockhound::symbolize {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
void run_on_big_stack(void (*fn)(void*), void* arg) { fn(arg); }  // the sanitizers do not follow a switch of stacks
#else
namespace {

constexpr size_t kStackBytes = size_t(8) << 20;

std::atomic<bool> g_busy{false};
char* g_stack = nullptr;  // below it one guard page
ucontext_t g_caller, g_callee;
void (*g_fn)(void*) = nullptr;
void* g_arg = nullptr;
std::exception_ptr g_error;

void trampoline() {
  try {
    g_fn(g_arg);
  } catch (...) {
    g_error = std::current_exception();
  }
}  // returns to uc_link: the caller's context

bool make_stack() {
  if (g_stack) return true;
  long page = sysconf(_SC_PAGESIZE);
  size_t len = kStackBytes + size_t(page);
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) return false;
  mprotect(p, size_t(page), PROT_NONE);
  g_stack = static_cast<char*>(p) + page;
  return true;
}

}  // namespace

void run_on_big_stack(void (*fn)(void*), void* arg) {
  if (g_busy.exchange(true, std::memory_order_acquire)) return fn(arg);
  if (!make_stack() || getcontext(&g_callee) != 0) {
    g_busy.store(false, std::memory_order_release);
    return fn(arg);
  }
  g_callee.uc_stack.ss_sp = g_stack;
  g_callee.uc_stack.ss_size = kStackBytes;
  g_callee.uc_link = &g_caller;
  makecontext(&g_callee, trampoline, 0);
  g_fn = fn;
  g_arg = arg;
  g_error = nullptr;
  swapcontext(&g_caller, &g_callee);
  std::exception_ptr error = std::move(g_error);
  g_error = nullptr;
  g_busy.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}
#endif

}  // namespace lockhound::symbolize
