// The engine's large tables (table_memory.h): zeroed, 2 MiB aligned and in huge pages where the
// system allows them; small ones cost only what they touch.
#include "core/table_memory.h"

#include <gtest/gtest.h>

#include <sys/mman.h>

#include <random>
#include <unordered_map>

#include "core/engine.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace lockhound::engine {
namespace {

// "always [madvise] never": huge pages can be had by asking.
bool thp_available() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  std::getline(f, s);
  return s.find("[always]") != std::string::npos || s.find("[madvise]") != std::string::npos;
}

bool all_zero(const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i += 4093)
    if (p[i]) return false;
  return p[n - 1] == 0;
}

TEST(TableMemory, ALargeTableIsZeroedAlignedAndInHugePages) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "under AddressSanitizer tables come from calloc (table_memory.cpp)";
#endif
  const size_t bytes = 3 * kHugePage + 4096;  // not a multiple: rounded up inside
  auto* p = static_cast<unsigned char*>(map_table(bytes, true));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(uintptr_t(p) % kHugePage, 0u);
  EXPECT_TRUE(all_zero(p, bytes));
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;  // writable, every page
  if (thp_available())
    EXPECT_TRUE(table_in_huge_pages(p, bytes)) << "the table's 2 MiB pages are not huge (smaps)";
  else
    std::printf("transparent huge pages are off here: only alignment and zeroes checked\n");
  unmap_table(p, bytes);
}

// The resident kilobytes of the mapping that holds p (/proc/self/smaps), or -1.
long resident_kb_of_mapping(const void* p) {
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(f, line)) {
    unsigned long a, b;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &a, &b) == 2 && line.find('-') < line.find(' ')) {
      inside = uintptr_t(p) >= a && uintptr_t(p) < b;
      continue;
    }
    long kb;
    if (inside && std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) return kb;
  }
  return -1;
}

TEST(TableMemory, ATableJustOverAHugePageTakesNoSecondOne) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "under AddressSanitizer tables come from calloc (table_memory.cpp)";
#endif
  // The fast table's 2 MiB of slots and its header word: the tail lies in a small page, and only
  // it is faulted in besides the huge page (a whole second huge page was zeroed for 8 bytes).
  const size_t bytes = kHugePage + 8;
  auto* p = static_cast<unsigned char*>(map_table(bytes, true));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(all_zero(p, bytes));
  p[bytes - 1] = 1;
  long kb = resident_kb_of_mapping(p);
  ASSERT_GT(kb, 0) << "no mapping holds the table in /proc/self/smaps";
  EXPECT_LE(kb, long(kHugePage + 4096) / 1024);
  unmap_table(p, bytes);
}

// An old generation of the runtime's fast table: its memory goes back, and a thread still
// probing it reads zeros (a miss), not a fault.
TEST(TableMemory, AReleasedTableStaysReadableAsZerosAndHoldsNoMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "under AddressSanitizer tables come from calloc (table_memory.cpp)";
#endif
  const size_t bytes = 2 * kHugePage + 8;
  auto* p = static_cast<unsigned char*>(map_table(bytes, true));
  ASSERT_NE(p, nullptr);
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 7;
  p[bytes - 1] = 7;
  long before = resident_kb_of_mapping(p);
  ASSERT_GE(before, long(2 * kHugePage / 1024)) << "every page was written";
  release_table(p, bytes);
  EXPECT_TRUE(all_zero(p, bytes));
  long after = resident_kb_of_mapping(p);
  EXPECT_GE(after, 0) << "still mapped";
  EXPECT_LE(after, 8) << "reading it back maps nothing but the shared zero page";
  unmap_table(p, bytes);
}

TEST(TableMemory, ASmallTableIsZeroedAndNotHuge) {
  const size_t bytes = 64 * 1024;
  auto* p = static_cast<unsigned char*>(map_table(bytes, true));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(all_zero(p, bytes));
  EXPECT_FALSE(table_in_huge_pages(p, bytes));
  unmap_table(p, bytes);
}

TEST(TableMemory, ZeroArrayMovesAndKeepsItsSlots) {
  ZeroArray<uint64_t> a(kHugePage / sizeof(uint64_t) * 2);
  for (size_t i = 0; i < a.size(); i += 1000) EXPECT_EQ(a[i], 0u);
  for (size_t i = 0; i < a.size(); i += 1000) a[i] = i + 1;
  ZeroArray<uint64_t> b = std::move(a);
  EXPECT_TRUE(a.empty());
  ASSERT_EQ(b.size(), kHugePage / sizeof(uint64_t) * 2);
  size_t seen = 0;
  for (uint64_t v : b) seen += v != 0;
  EXPECT_EQ(seen, (b.size() + 999) / 1000);
  EXPECT_EQ(b[b.size() / 1000 * 1000], b.size() / 1000 * 1000 + 1);
}

TEST(TableMemory, AnAddressMapGrowsThroughLargeTables) {
  AddressMap<uint32_t> m;
  const uint32_t n = 300000;  // its slot array passes 2 MiB
  for (uint32_t i = 0; i < n; ++i) m[uint64_t(i) * 64 + 0x1000] = i;
  ASSERT_EQ(m.size(), n);
  uint64_t sum = 0;
  for (uint32_t i = 0; i < n; i += 7) {
    auto it = m.find(uint64_t(i) * 64 + 0x1000);
    ASSERT_NE(it, m.end());
    sum += it->second == i;
  }
  EXPECT_EQ(sum, (n + 6) / 7);
  EXPECT_EQ(m.count(0x1000 + 1), 0u);
}

}  // namespace
}  // namespace lockhound::engine

namespace lockhound::engine {
namespace {

// Pages of [p, p + bytes) in memory now (mincore).
size_t resident_pages(const void* p, size_t bytes) {
  std::vector<unsigned char> v(bytes / 4096);
  if (mincore(const_cast<void*>(p), bytes, v.data()) != 0) return SIZE_MAX;
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

// The class and edge tables: every full chunk in a huge page, the last one resident only as far
// as its records reached (a step of 64 KiB at most past them), where a chunk populated whole held
// 2 MiB from its first record. Records are where they were put, across chunks.
TEST(ChunkedVector, FullChunksAreHugeAndTheLastHoldsOnlyWhatItReached) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "under AddressSanitizer tables come from calloc (table_memory.cpp)";
#endif
  struct alignas(64) Rec {
    uint64_t v[8];
  };
  using Table = ChunkedVector<Rec, true>;  // the class table's kind
  Table t;
  constexpr size_t kChunk = Table::kChunk;
  const size_t n = 2 * kChunk + kChunk / 10;  // two full chunks and a tenth of a third
  for (size_t i = 0; i < n; ++i) t.push_back(Rec{{i, i * 3}});
  ASSERT_EQ(t.size(), n);
  for (size_t i = 0; i < n; i += 997) ASSERT_EQ(t[i].v[0], i) << i;
  EXPECT_EQ(t[n - 1].v[1], (n - 1) * 3);
  const Rec* tail = &t[2 * kChunk];
  size_t used = (n - 2 * kChunk) * sizeof(Rec);
  size_t pages = resident_pages(tail, kHugePage);
  ASSERT_NE(pages, SIZE_MAX);
  EXPECT_GE(pages * 4096, used);
  EXPECT_LE(pages * 4096, used + Table::kStep) << "the last chunk is resident past its step";
  EXPECT_LE(t.bytes(), 2 * kHugePage + used + Table::kStep + 4096);
  if (thp_available()) {
    EXPECT_TRUE(table_in_huge_pages(&t[0], kHugePage)) << "the first full chunk is not huge (smaps)";
    EXPECT_TRUE(table_in_huge_pages(&t[kChunk], kHugePage)) << "the second full chunk is not huge (smaps)";
  }
  // The edge tables' kind: later chunks populated whole in a huge page; the first one too, once full.
  ChunkedVector<Rec> e;
  for (size_t i = 0; i < n; ++i) e.push_back(Rec{{i, i * 5}});
  for (size_t i = 0; i < n; i += 1009) ASSERT_EQ(e[i].v[0], i) << i;
  EXPECT_EQ(e.bytes() - e.bytes() % 4096, 3 * kHugePage);
  if (thp_available()) {
    EXPECT_TRUE(table_in_huge_pages(&e[0], kHugePage)) << "the first full chunk is not huge (smaps)";
    EXPECT_TRUE(table_in_huge_pages(&e[2 * kChunk], kHugePage)) << "the last chunk is not huge (smaps)";
  }
}

// The instance table (engine.h) against a map, through inserts and erases: erasing shifts the
// entries after a hole back, across the end of the table too, and a mistake there loses an
// instance (find says none) or keeps a dead one. Few keys in a small table, so that probe runs are
// long and wrap around; addresses 8 apart, as locks in an array are.
TEST(InstanceTable, FindsWhatAMapFindsThroughInsertsErasesAndGrowth) {
  InstanceTable t;
  std::unordered_map<uint64_t, uint64_t> ref;  // lock -> id
  std::mt19937_64 rng(42);
  uint64_t next_id = 1, moves = t.moved();
  size_t erases = 0;
  for (int step = 0; step < 200000; ++step) {
    // Keys from a window that drifts, so the table both grows and empties out.
    uint64_t lock = 0x7f0000001000 + 8 * ((rng() % 600) + uint64_t(step / 1000) * 40);
    if (rng() % 3 == 0) {
      bool had = ref.erase(lock) != 0;
      ASSERT_EQ(t.contains(lock), had) << "step " << step;
      if (had) {
        t.erase(lock);
        ++erases;
        ASSERT_GT(t.moved(), moves);  // a cache holding pointers must hear of it
        moves = t.moved();
      }
    } else {
      bool fresh = false;
      Instance& in = t.emplace(lock, fresh);
      ASSERT_EQ(fresh, !ref.contains(lock)) << "step " << step;
      if (fresh) {
        in.id = next_id++;
        in.cls = ClassId(lock >> 3);
        ref[lock] = in.id;
      }
      moves = t.moved();
    }
    ASSERT_EQ(t.size(), ref.size());
    if (step % 1000 == 0) {
      for (auto [l, id] : ref) {
        const Instance* in = t.find(l);
        ASSERT_NE(in, nullptr) << "lost " << std::hex << l << " at step " << std::dec << step;
        EXPECT_EQ(in->id, id);
        EXPECT_EQ(in->cls, ClassId(l >> 3));
      }
    }
  }
  EXPECT_GT(erases, 10000u);
  EXPECT_GT(t.capacity(), 256u);  // it grew
  EXPECT_LE(t.size() * 5, t.capacity() * 4);
}

}  // namespace
}  // namespace lockhound::engine

namespace lockhound::engine {
namespace {

// An edge list keeps each edge's other end next to it once the edges are on the heap: the ends
// of the two inline edges are asked for when the list moves there, later ones are given, and
// the back bit marks the last one pushed. 40 edges cross every growth step up to 64.
TEST(EdgeList, KeepsEachEdgesOtherEndOnTheHeap) {
  constexpr uint32_t kBack = 1u << 31;
  auto other_end = [](uint32_t ei) { return ei * 7 + 3; };
  EdgeList l;
  std::vector<uint32_t> asked;
  for (uint32_t ei = 100; ei < 140; ++ei) {
    l.push_back(ei, other_end(ei), [&](uint32_t e) {
      asked.push_back(e);
      return other_end(e);
    });
    if (ei % 5 == 0) l.mark_last(kBack);
    ASSERT_EQ(l.size(), ei - 99);
    if (l.size() <= 2) {
      EXPECT_EQ(l.nbrs(), nullptr) << "two edges stay inline, without their ends";
      continue;
    }
    const uint32_t* nb = l.nbrs();
    ASSERT_NE(nb, nullptr);
    for (uint32_t k = 0; k < l.size(); ++k) {
      uint32_t e = 100 + k;
      EXPECT_EQ(l[k], e);
      // The inline edges were pushed before the list had room for a mark: 100 stays unmarked.
      bool back = e % 5 == 0 && e != 100;
      EXPECT_EQ(nb[k], other_end(e) | (back ? kBack : 0)) << "edge " << e << " with " << l.size() << " edges";
    }
  }
  EXPECT_EQ(asked, (std::vector<uint32_t>{100, 101})) << "only the inline edges' ends are asked for, once";
  EXPECT_EQ(l.heap_bytes(), 2 * 64 * sizeof(uint32_t));
}

}  // namespace
}  // namespace lockhound::engine
