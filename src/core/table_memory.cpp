// map_table: see table_memory.h.
#include "core/table_memory.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels say EINVAL and pages fault lazily
#endif

namespace lockhound::engine {

namespace {
// A region ends at its last 4 KiB page, not at a huge page's end: a table a little over a
// multiple of 2 MiB (a hash map's 2.2 MB array, the chain table's 4 MiB and a header word) has
// its tail in small pages rather than a whole huge page zeroed for it. On the project's machine
// zeroing fresh memory was a third of the 100k-lock walk's cold cost, and these tails were a fifth
// of what it zeroed (7.6 of 34 MiB).
constexpr size_t kPage = 4096;
size_t rounded(size_t bytes) { return (bytes + kPage - 1) & ~(kPage - 1); }
}  // namespace

// Under AddressSanitizer everything comes from calloc: LeakSanitizer does not look for pointers
// in mapped memory (a table of pointers would make what they point to look leaked).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMapLarge = false;
#else
constexpr bool kMapLarge = true;
#endif

namespace {
// Zeroed memory of `size` bytes (whole pages) at a 2 MiB boundary, in small pages until asked
// otherwise: a huge page more than needed is mapped and trimmed, the start to the boundary, the end
// after the last page needed.
void* map_aligned(size_t size) {
  void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  uintptr_t start = (uintptr_t(raw) + kHugePage - 1) & ~(kHugePage - 1);
  if (start > uintptr_t(raw)) munmap(raw, start - uintptr_t(raw));
  uintptr_t end = uintptr_t(raw) + size + kHugePage;
  if (end > start + size) munmap(reinterpret_cast<void*>(start + size), end - (start + size));
  return reinterpret_cast<void*>(start);
}
}  // namespace

void* map_table(size_t bytes, bool populate) {
  if (bytes < kHugePage || !kMapLarge) {
    void* p = std::calloc(1, bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  size_t size = rounded(bytes);
  void* p = map_aligned(size);
  madvise(p, size, MADV_HUGEPAGE);  // fails where THP is off: 4 KiB pages then
  if (populate) madvise(p, size, MADV_POPULATE_WRITE);
  return p;
}

void unmap_table(void* p, size_t bytes) {
  if (bytes < kHugePage || !kMapLarge)
    std::free(p);
  else
    munmap(p, rounded(bytes));
}

void release_table(void* p, size_t bytes) {
  if (bytes >= kHugePage && kMapLarge) madvise(p, rounded(bytes), MADV_DONTNEED);
}

void* map_growing(size_t bytes) {
  if (bytes < kHugePage || !kMapLarge) {  // as map_table: unmap_table tells them apart the same way
    void* p = std::calloc(1, bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  return map_aligned(rounded(bytes));
}

void populate_table(void* p, size_t bytes) {
  if (kMapLarge) madvise(p, rounded(bytes), MADV_POPULATE_WRITE);  // else: faults as touched
}

void collapse_table(void* p, size_t bytes) {
  if (!kMapLarge) return;
  madvise(p, bytes, MADV_HUGEPAGE);   // fails where THP is off: small pages stay
  madvise(p, bytes, MADV_COLLAPSE);   // fails on kernels before 6.1: khugepaged may do it later
}

bool table_in_huge_pages(const void* p, size_t bytes) {
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (!f) return false;
  char line[512];
  uintptr_t lo = uintptr_t(p), hi = lo + bytes;
  bool inside = false;
  size_t huge_kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (std::sscanf(line, "%lx-%lx ", &a, &b) == 2 && std::strchr(line, '-') < std::strchr(line, ' ')) {
      inside = a < hi && b > lo;
      continue;
    }
    size_t kb;
    if (inside && std::sscanf(line, "AnonHugePages: %zu kB", &kb) == 1) huge_kb += kb;
  }
  std::fclose(f);
  return bytes >= kHugePage && huge_kb * 1024 >= (bytes & ~(kHugePage - 1));
}

}  // namespace lockhound::engine
