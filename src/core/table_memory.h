// Memory for the engine's large tables (the class, edge and order tables, the chain cache, the
// edge index). A program with many locks touches them at random: with 4 KiB pages every new
// chain over classes far apart costs TLB misses and, while the tables fill, a page fault per
// 4 KiB. Regions of 2 MiB or more are therefore mapped at a 2 MiB boundary and asked for
// transparent huge pages (madvise; the kernel's default mode on Debian is "madvise"), and
// populated in one call. Smaller regions (a small program's tables) come from calloc and cost
// only what they touch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>

#include <absl/container/flat_hash_map.h>

namespace lockhound::engine {

inline constexpr size_t kHugePage = size_t(2) << 20;

// Zeroed memory of `bytes`; throws std::bad_alloc. `populate`: fault every page in now (only
// for regions of kHugePage or more, which are also the only ones aligned and marked huge).
void* map_table(size_t bytes, bool populate);
// Gives back what map_table returned for the same `bytes`.
void unmap_table(void* p, size_t bytes);
// Gives the pages of what map_table returned for `bytes` back to the system but keeps them mapped,
// reading as zeros from then on: for a table that other threads may still read without a lock
// (an old generation of the runtime's fast table), where a zero slot is an answer that is never
// wrong ("not there": the reader asks the slow path). A small table (calloc's) stays as it is.
void release_table(void* p, size_t bytes);
// A region of whole huge pages (`bytes` a multiple of kHugePage), 2 MiB aligned, zeroed, in small
// pages that fault in when touched or when populate_table asks: a table that grows into it keeps
// only the pages it reached, where a huge page would take 2 MiB for its first record. Under
// AddressSanitizer, calloc (see map_table). Given back with unmap_table.
void* map_growing(size_t bytes);
// Faults [p, p + bytes) in now, in one call (page-aligned p; bytes rounded up to pages).
void populate_table(void* p, size_t bytes);
// The region of map_growing, now full: moved into huge pages at once where the kernel can
// (MADV_COLLAPSE, Linux 6.1), else marked for them (khugepaged's later pass).
void collapse_table(void* p, size_t bytes);
// Whether the region [p, p + bytes) lies in huge pages now (/proc/self/smaps); for tests.
bool table_in_huge_pages(const void* p, size_t bytes);

// A fixed array of trivially copyable slots, zeroed when made, in map_table memory: the storage
// of the chain cache and the edge index (std::vector wrote the zeroes itself, page by page).
template <typename T>
class ZeroArray {
 public:
  ZeroArray() = default;
  explicit ZeroArray(size_t n) : n_(n), p_(n ? static_cast<T*>(map_table(n * sizeof(T), true)) : nullptr) {}
  ZeroArray(const ZeroArray&) = delete;
  ZeroArray& operator=(const ZeroArray&) = delete;
  ZeroArray(ZeroArray&& o) noexcept : n_(std::exchange(o.n_, 0)), p_(std::exchange(o.p_, nullptr)) {}
  ZeroArray& operator=(ZeroArray&& o) noexcept {
    if (this != &o) {
      free();
      n_ = std::exchange(o.n_, 0);
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  ~ZeroArray() { free(); }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  const T* begin() const { return p_; }
  const T* end() const { return p_ + n_; }

 private:
  void free() {
    if (p_) unmap_table(p_, n_ * sizeof(T));
  }
  size_t n_ = 0;
  T* p_ = nullptr;
};

// An allocator for the hash maps that grow with the number of locks (the engine's instance
// table, the runtime's lock table): their large arrays come from map_table.
template <typename T>
struct TableAllocator {
  using value_type = T;
  TableAllocator() = default;
  template <typename U>
  TableAllocator(const TableAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(map_table(n * sizeof(T), true)); }
  void deallocate(T* p, size_t n) { unmap_table(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const TableAllocator<U>&) const { return true; }
};

// Such a map from a lock's address.
template <typename V>
using AddressMap = absl::flat_hash_map<uint64_t, V, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                                       TableAllocator<std::pair<const uint64_t, V>>>;

}  // namespace lockhound::engine
