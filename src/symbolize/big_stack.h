// Running deep work on a stack of its own.
//
// libdw reads a module's line table and DWARF with large frames and deep recursion; the thread that
// asks (under the preload: any of the program's threads, some made with 64 KiB stacks) may not
// have the room. The symbolizer's cache misses run through here, on one private 8 MiB stack.
#pragma once

#include <type_traits>
#include <utility>

namespace lockhound::symbolize {

// Calls fn(arg) on the private stack, or directly when the stack is in use (nested, or another
// thread: the caller's serialisation is the symbolizer's, so that is rare) or cannot be made.
// An exception from fn is passed on to the caller.
void run_on_big_stack(void (*fn)(void*), void* arg);

template <typename F>
void on_big_stack(F&& f) {
  run_on_big_stack([](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); }, &f);
}

}  // namespace lockhound::symbolize
