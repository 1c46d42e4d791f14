// Sites: naming a place in the program from a stack, the same way for every input.
//
// A finding's evidence is stacks: unwound and symbolized frames (the runtime, attach), kernel
// frames with offsets ("_raw_spin_lock+0x30/0x40 [mod]": trace, explain), a scenario file's
// lines, or the static scan's call chains. A report names one frame of such a stack as "the
// site": the first frame in the user's own code, past the lock machinery (pthread, glibc,
// libstdc++ and the toolchain's headers, the kernel's lock implementation, lockhound itself).
// Everything that words a site goes through here, so every report names places alike.
#pragma once

#include <string>
#include <string_view>

#include "core/finding.h"

namespace lockhound {

// "bad_function (abba.c:12)", "m2_init+0x3c [m2]", "0x4011d6 in libfoo.so", or "" when the
// frame carries nothing. Long file paths are cut to their last component.
std::string describe_frame(const Frame& fr);

// A frame of the lock implementation, the C/C++ runtime, the toolchain's headers or lockhound:
// it says nothing about where the user's code took a lock.
bool is_plumbing(const Frame& fr);

// The user-space library a frame belongs to, as a reader names it: "libstdc++" (its objects and
// the code its headers inlined into the program), "libc" (glibc, the dynamic linker and libc's
// headers), "libgcc", "lockhound"; "" for the program's own code and for kernel frames.
std::string_view library_of(const Frame& fr);

// The first frame outside the plumbing that names something (a function, a file, or a module
// address); null when the stack is empty or all plumbing.
const Frame* user_frame(const Stack& stack);

// describe_frame(user_frame(stack)), else the first describable frame, else `fallback`.
std::string site_of(const Stack& stack, std::string_view fallback = "an unknown site");

// The site of an acquisition: its own `site` frame when the input gave one that is not
// plumbing, else site_of(its stack).
std::string site_of(const Acquisition& a, std::string_view fallback = "an unknown site");

// The locking call a stack shows, as a person writes it: "spin_lock", "spin_lock_irqsave",
// "mutex_lock", "down_read", "pthread_mutex_lock", … ("" when none is recognised).
std::string lock_primitive(const Stack& stack);
// The same for one acquisition: the call its input named, else the one its stack shows.
std::string lock_primitive(const Acquisition& a);

// The interrupt-safe form of a locking call: spin_lock -> spin_lock_irqsave (hardirq) or
// spin_lock_bh (softirq); read_lock_irq -> read_lock_irqsave.
std::string irqsafe_variant(std::string_view call, bool softirq);
// The release matching a locking call: spin_lock_irqsave -> spin_unlock_irqrestore.
std::string unlock_variant(std::string_view call);

}  // namespace lockhound
