// Stack capture and symbolization of this test binary: functions, files, lines, inlined frames,
// C++ names, and static objects named by their symbols.
#include <dlfcn.h>
#include <pthread.h>

#include <gtest/gtest.h>

#include "symbolize/symbolize.h"

pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
struct Table {
  char pad[64];
  pthread_mutex_t m;
} table_with_lock;
struct Slot {
  int id;
  pthread_mutex_t mu;
};
struct SlotPool {
  long generation;
  Slot slots[4];
  pthread_rwlock_t grid[2][3];
} slot_pool;

namespace lockhound::symbolize {
namespace {

namespace deep {
struct Walker {
  __attribute__((noinline)) size_t walk(uint64_t* pcs, size_t max) {
    size_t n = capture_stack(pcs, max);
    asm volatile("" ::: "memory");  // keep the call from being a tail call
    return n;
  }
};
}  // namespace deep

TEST(Symbolize, CapturesAndNamesFrames) {
  uint64_t pcs[32];
  deep::Walker w;
  size_t n = w.walk(pcs, 32);
  ASSERT_GE(n, 2u);
  Symbolizer s;
  const auto& first = s.frames(pcs[0]);
  ASSERT_FALSE(first.empty());
  EXPECT_NE(first.back().function.find("deep::Walker::walk"), std::string::npos)
      << first.back().function;
  EXPECT_NE(first.back().file.find("symbolize_test.cpp"), std::string::npos) << first.back().file;
  EXPECT_GT(first.back().line, 0u);
  const auto& second = s.frames(pcs[1]);
  EXPECT_NE(second.back().function.find("CapturesAndNamesFrames"), std::string::npos)
      << second.back().function;
  std::string desc = s.describe_code(pcs[0]);
  EXPECT_NE(desc.find("symbolize_test.cpp:"), std::string::npos) << desc;
}

TEST(Symbolize, NamesStaticObjects) {
  Symbolizer s;
  std::string name;
  ASSERT_TRUE(s.describe_data(reinterpret_cast<uint64_t>(&ledger_lock), name));
  EXPECT_EQ(name, "ledger_lock");
  ASSERT_TRUE(s.describe_data(reinterpret_cast<uint64_t>(&table_with_lock.m), name));
  EXPECT_EQ(name, "table_with_lock.m");  // by member, through DWARF
  ASSERT_TRUE(s.describe_data(reinterpret_cast<uint64_t>(&slot_pool.slots[2].mu), name));
  EXPECT_EQ(name, "slot_pool.slots[2].mu");
  ASSERT_TRUE(s.describe_data(reinterpret_cast<uint64_t>(&slot_pool.grid[1][2]), name));
  EXPECT_EQ(name, "slot_pool.grid[1][2]");
  // Inside a member that is not a lock's start: the rest as an offset.
  ASSERT_TRUE(s.describe_data(reinterpret_cast<uint64_t>(&slot_pool.slots[1]) + 2, name));
  EXPECT_EQ(name, "slot_pool.slots[1].id+0x2");
  int on_stack = 0;
  EXPECT_FALSE(s.describe_data(reinterpret_cast<uint64_t>(&on_stack), name));
  auto heap = std::make_unique<int>(1);
  EXPECT_FALSE(s.describe_data(reinterpret_cast<uint64_t>(heap.get()), name));
}

TEST(Symbolize, Demangles) {
  EXPECT_EQ(demangle("_ZN3foo3barEv"), "foo::bar()");
  EXPECT_EQ(demangle("plain_c"), "plain_c");
  EXPECT_EQ(demangle("__libc_start_main@@GLIBC_2.34"), "__libc_start_main");
  // GCC's copies of a function are named as the source names it.
  EXPECT_EQ(demangle("assign.constprop.0"), "assign");
  EXPECT_EQ(demangle("walk.part.0.isra.0"), "walk");
  EXPECT_EQ(demangle("_ZN4Bank4moveEP7AccountS1_.constprop.0"), "Bank::move(Account*, Account*)");
  EXPECT_EQ(demangle("main.cold"), "main");
}

TEST(Symbolize, WithoutParameters) {
  EXPECT_EQ(without_parameters("Monitor::Monitor(int, char const*, bool, Mutex::SafepointCheckRequired)"),
            "Monitor::Monitor");
  EXPECT_EQ(without_parameters("Table::lookup(int) const"), "Table::lookup");
  EXPECT_EQ(without_parameters("std::function<void (int)>::operator()(int) const"),
            "std::function<void (int)>::operator()");
  EXPECT_EQ(without_parameters("main::{lambda(int)#1}::operator()(int) const &&"),
            "main::{lambda(int)#1}::operator()");
  EXPECT_EQ(without_parameters("void f<int (*)(char)>(int (*)(char))"), "void f<int (*)(char)>");
  // A lambda's inlined body, as DWARF names it: no parameter list to take away.
  EXPECT_EQ(without_parameters("operator()"), "operator()");
  EXPECT_EQ(without_parameters("Counter::operator()"), "Counter::operator()");
  EXPECT_EQ(without_parameters("account_init"), "account_init");
  EXPECT_EQ(without_parameters("(anonymous)"), "(anonymous)");
  EXPECT_EQ(without_parameters("broken)"), "broken)");
  EXPECT_EQ(without_parameters(""), "");
}

// The lock a source line takes, at the column the debug information gives for the call (GCC puts
// a guard's constructor at its ')' or inside its argument, a C call at its name).
TEST(Symbolize, StandardTypesReadAsTheSourceWritesThem) {
  using lockhound::symbolize::demangle;
  using lockhound::symbolize::tidy_std_types;
  // Bank::open(std::string const&), as g++ 12 mangles it.
  EXPECT_EQ(demangle("_ZN4Bank4openERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"),
            "Bank::open(std::string const&)");
  const std::pair<std::string, std::string> cases[] = {
      {"f(std::vector<int, std::allocator<int> > const&)", "f(std::vector<int> const&)"},
      {"f(std::vector<std::vector<int, std::allocator<int> >, std::allocator<std::vector<int, std::allocator<int> > > >&)",
       "f(std::vector<std::vector<int> >&)"},
      {"f(std::map<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, int, "
       "std::less<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > >, "
       "std::allocator<std::pair<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const, int> > >&)",
       "f(std::map<std::string, int>&)"},
      {"f(std::unordered_map<int, long, std::hash<int>, std::equal_to<int>, std::allocator<std::pair<int const, long> > >&)",
       "f(std::unordered_map<int, long>&)"},
      {"f(std::set<int, std::less<int>, std::allocator<int> >)", "f(std::set<int>)"},
      {"f(std::unique_ptr<Account, std::default_delete<Account> >)", "f(std::unique_ptr<Account>)"},
      {"std::__cxx11::list<int, std::allocator<int> >::clear()", "std::list<int>::clear()"},
      {"f(std::basic_ostream<char, std::char_traits<char> >&)", "f(std::ostream&)"},
      // Not the defaults: kept.
      {"f(std::set<int, std::greater<int>, std::allocator<int> >)", "f(std::set<int, std::greater<int>, std::allocator<int> >)"},
      {"f(std::vector<int, Pool<int> >)", "f(std::vector<int, Pool<int> >)"},
      {"mystd::vector<int, std::allocator<int> >::size()", "mystd::vector<int, std::allocator<int> >::size()"},
      // Broken or cut text comes back unharmed.
      {"f(std::vector<int, std::allocator<int>", "f(std::vector<int, std::allocator<int>"},
      {"std::vector<", "std::vector<"},
      {"main", "main"}};
  for (const auto& [in, want] : cases) EXPECT_EQ(tidy_std_types(in), want) << in;
}

TEST(Symbolize, LockExpressionIsTheLockAsTheLineWritesIt) {
  std::string two = "  std::lock_guard x(a->mu); std::lock_guard y(b->mu); a->balance--;";
  EXPECT_EQ(lock_expression(two, 26), "a->mu");   // x's ')'
  EXPECT_EQ(lock_expression(two, 48), "b->mu");   // inside y's argument
  EXPECT_EQ(lock_expression(two, 46), "b->mu");   // at y, the name that opens the list
  EXPECT_EQ(lock_expression(two, 0), "a->mu");    // no column: the first list
  EXPECT_EQ(lock_expression("  pthread_mutex_lock(&p->workers[i].lock);", 3), "p->workers[i].lock");
  EXPECT_EQ(lock_expression("  pthread_mutex_lock(stats);", 3), "stats");
  EXPECT_EQ(lock_expression("    std::lock_guard<std::mutex> g(from->mu);", 37), "from->mu");
  EXPECT_EQ(lock_expression("  std::unique_lock<std::mutex> lk(owned[i]->mu, std::defer_lock);", 33), "owned[i]->mu");
  EXPECT_EQ(lock_expression("  cache_mu.lock();", 3), "cache_mu");
  EXPECT_EQ(lock_expression("  for (int i = 0; i < 8; ++i) pthread_mutex_init(&t->buckets[i], NULL);", 32),
            "t->buckets[i]");
  EXPECT_EQ(lock_expression("  mtx_init(&q->mu, mtx_plain | mtx_recursive);", 3), "q->mu");
  EXPECT_EQ(lock_expression("    if (!self->mu_.try_lock()) return;", 10), "self->mu_");
  EXPECT_EQ(lock_expression("  std::lock_guard g{table.mu};", 19), "table.mu");
  // Not one lock, or not a plain expression: nothing.
  EXPECT_EQ(lock_expression("  std::scoped_lock both(from.mu, to.mu);", 25), "");
  EXPECT_EQ(lock_expression("  std::lock_guard g(pick(a, b));", 21), "");
  EXPECT_EQ(lock_expression("  pthread_mutex_lock(", 3), "");        // the call goes on below
  EXPECT_EQ(lock_expression("  mu.try_lock_for(std::chrono::milliseconds(10));", 3), "mu");
  EXPECT_EQ(lock_expression("  x.unlock_all();", 3), "");            // a method that is no lock
  EXPECT_EQ(lock_expression("  x.size();", 3), "");
  EXPECT_EQ(lock_expression("  counter++;", 3), "");
  EXPECT_EQ(lock_expression("", 1), "");
  EXPECT_EQ(lock_expression(")))(((", 4), "");
  EXPECT_EQ(lock_expression("  f(\"a\");", 3), "");
}

TEST(Symbolize, FillKeepsKnownFields) {
  uint64_t pcs[4];
  size_t n = capture_stack(pcs, 4);
  ASSERT_GE(n, 1u);
  Stack st(1);
  st[0].pc = pcs[0];
  st.push_back(Frame{});
  st[1].function = "already_known";
  Symbolizer s;
  s.fill(st);
  ASSERT_GE(st.size(), 2u);
  EXPECT_NE(st[0].function.find("FillKeepsKnownFields"), std::string::npos) << st[0].function;
  EXPECT_EQ(st.back().function, "already_known");
}

// Code in a library with no debug information and dynamic symbols only: the function comes from
// the symbol table (lockhound sorts it once per module; libdw's lookup scans it on every call).
// Checked against the dynamic linker's own answer (dladdr) at addresses inside each function.
TEST(Symbolize, NamesFunctionsOfAStrippedLibrary) {
  void* lib = dlopen(STRIPPED_LIB, RTLD_NOW);
  ASSERT_NE(lib, nullptr) << dlerror();
  Symbolizer s;
  int checked = 0;
  for (int n = 0; n < 16; ++n) {
    std::string name = "stripped_fn" + std::to_string(n);
    void* fn = dlsym(lib, name.c_str());
    ASSERT_NE(fn, nullptr) << name;
    for (uint64_t off : {0u, 1u, 5u}) {
      uint64_t pc = reinterpret_cast<uint64_t>(fn) + off;
      Dl_info info{};
      ASSERT_NE(dladdr(reinterpret_cast<void*>(pc), &info), 0);
      ASSERT_NE(info.dli_sname, nullptr);
      EXPECT_EQ(info.dli_sname, name);
      const auto& fr = s.frames(pc, false);
      ASSERT_EQ(fr.size(), 1u);
      EXPECT_EQ(fr[0].function, name) << "+" << off;
      EXPECT_EQ(fr[0].line, 0u);
      EXPECT_NE(fr[0].object.find("rt_stripped_lib"), std::string::npos) << fr[0].object;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 48);
  // Two names at one address: the public (weak) alias, not the implementation's name.
  uint64_t impl = reinterpret_cast<uint64_t>(dlsym(lib, "__stripped_impl"));
  ASSERT_NE(impl, 0u);
  EXPECT_EQ(reinterpret_cast<uint64_t>(dlsym(lib, "stripped_public")), impl);
  EXPECT_EQ(s.frames(impl + 2, false)[0].function, "stripped_public");
  // The module and offset of an address; an address in no module has none.
  std::string object;
  uint64_t offset = 0;
  ASSERT_TRUE(s.locate(impl, object, offset));
  EXPECT_NE(object.find("rt_stripped_lib"), std::string::npos) << object;
  Dl_info info{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(impl), &info), 0);
  EXPECT_EQ(offset, impl - reinterpret_cast<uint64_t>(info.dli_fbase));
  auto heap = std::make_unique<int>(1);
  EXPECT_FALSE(s.locate(reinterpret_cast<uint64_t>(heap.get()), object, offset));
  // A function no symbol covers has no name (the version node STRIPPED_1.0, an absolute symbol,
  // is not a place in the code); the module and offset still say where it is.
  auto hidden_address = reinterpret_cast<unsigned long (*)()>(dlsym(lib, "stripped_hidden_address"));
  ASSERT_NE(hidden_address, nullptr);
  uint64_t hidden = hidden_address() + 3;
  EXPECT_EQ(s.frames(hidden, false)[0].function, "") << "named after another symbol";
  EXPECT_EQ(s.describe_code(hidden, false).find("STRIPPED"), std::string::npos) << s.describe_code(hidden, false);
  EXPECT_NE(s.describe_code(hidden, false).find("rt_stripped_lib"), std::string::npos) << s.describe_code(hidden, false);
  dlclose(lib);
}

}  // namespace
}  // namespace lockhound::symbolize
