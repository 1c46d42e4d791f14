// What a cycle's report shows of where each lock was taken, under `lockhound run` (issue 19,
// item 4): every edge of the cycle, the closing one too, printed with both of its stacks; and a
// lock taken through a wrapper class (RWLock::lock_writer) shown with the wrapper's callers up to
// the user's code, not as the wrapper's frame alone.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "runtime/run_helper.h"

namespace lockhound::rttest {
namespace {

// `lockhound run --format text` on a program in progs/: the report's text.
std::string text_report(const std::string& prog) {
  char tmpl[] = "/tmp/lockhound-text-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string cmd = std::string(LOCKHOUND_EXE) + " run --format text -o " + (dir / "log").string() + " -- " +
                    RT_PROG_DIR + "/" + prog + " >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  (void)rc;
  std::string text;
  for (const auto& e : fs::directory_iterator(dir)) text += slurp(e.path());
  fs::remove_all(dir);
  return text;
}

struct PrintedEdge {
  std::string from, to;
  int from_frames = 0, to_frames = 0;  // stack lines under "taken at:" and "taken while holding it, at:"
};

// The edges of the first cycle's "the dependency chain" block, with the frame lines of each stack.
std::vector<PrintedEdge> printed_edges(const std::string& text, size_t* announced) {
  std::vector<PrintedEdge> out;
  size_t at = text.find("the dependency chain (");
  if (at == std::string::npos) return out;
  *announced = std::stoul(text.substr(at + std::strlen("the dependency chain (")));
  std::istringstream in(text.substr(at));
  std::string line;
  static const std::regex head(R"(^-> #\d+ (\S+) --> (\S+))");
  int* counting = nullptr;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, head)) {
      out.push_back({m[1], m[2]});
      counting = nullptr;
    } else if (out.empty()) {
      continue;
    } else if (line.find(" taken while holding it, at:") != std::string::npos) {
      counting = &out.back().to_frames;
    } else if (line.find(" taken at:") != std::string::npos) {
      counting = &out.back().from_frames;
    } else if (line.rfind("       ", 0) == 0 && counting) {
      ++*counting;
    } else if (line.empty() && counting == &out.back().to_frames) {
      counting = nullptr;
      if (out.size() == *announced) break;
    }
  }
  return out;
}

// Every edge of the cycle printed, each with a stack on both sides, and the edges close: each
// edge starts where the one before it ended, and the last ends where the first began.
void expect_whole_cycle(const std::string& prog, size_t length) {
  std::string text = text_report(prog);
  size_t announced = 0;
  std::vector<PrintedEdge> edges = printed_edges(text, &announced);
  EXPECT_EQ(announced, length) << text;
  ASSERT_EQ(edges.size(), length) << text;
  std::set<std::string> locks;
  for (size_t i = 0; i < edges.size(); ++i) {
    const PrintedEdge& e = edges[i];
    locks.insert(e.from);
    EXPECT_EQ(e.to, edges[(i + 1) % edges.size()].from) << "edge " << i << " does not lead on:\n" << text;
    EXPECT_GE(e.from_frames, 1) << "edge " << i << " (" << e.from << ") has no stack for its first lock:\n" << text;
    EXPECT_GE(e.to_frames, 1) << "edge " << i << " (" << e.to << ") has no stack for its second lock:\n" << text;
  }
  EXPECT_EQ(locks.size(), length) << text;
}

TEST(ReportStacks, AnAbbaPrintsBothEdgesWithTheirStacks) { expect_whole_cycle("abba", 2); }
TEST(ReportStacks, AThreeLockCyclePrintsItsClosingEdgeWithItsStacks) { expect_whole_cycle("cycle3", 3); }

// The functions of a JSON stack, without parameters.
std::vector<std::string> functions(const json& stack) {
  std::vector<std::string> out;
  for (const auto& fr : stack) {
    std::string fn = fr.value("function", "");
    out.push_back(fn.substr(0, fn.find('(')));
  }
  return out;
}
bool has(const std::vector<std::string>& fns, const std::string& name) {
  for (const auto& f : fns)
    if (f == name || (f.size() > name.size() && f.compare(f.size() - name.size(), name.size(), name) == 0 &&
                      f[f.size() - name.size() - 1] == ':'))
      return true;
  return false;
}

// Both outer acquisitions go through RWLock::lock_writer, called from Database::iterate, called
// from main; the locks were each taken alone before (set), so these acquisitions are not the
// class's first. Each lock's stack should continue from the wrapper to iterate and main.
//
// A held lock's stack is captured only when its acquisition reaches the engine as a new chain
// (the first time its class is taken alone). A lone acquisition after that takes the fast path
// and keeps only the lock call's return address and frame (stack and frame pointers); when a lock
// is later taken under it, the runtime finds the wrapper's callers that are still running from
// that frame (held_stack_hook). Without it the report showed one frame: RWLock::lock_writer().
void expect_outer_callers(const std::string& build) {
  auto r = run_under("rwlock_wrapper_" + build, {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  const json& f = cycles[0];
  ASSERT_EQ(f["chain"].size(), 2u) << f.dump(1);
  for (const auto& e : f["chain"]) {
    auto outer = functions(e["from_site"]["stack"]);
    auto inner = functions(e["to_site"]["stack"]);
    // (At -O2 the wrappers end in a tail call into libpthread: their own frames may be absent.)
    if (build == "O0") {
      EXPECT_TRUE(has(outer, "RWLock::lock_writer")) << e["from_site"].dump(1);
    }
    EXPECT_TRUE(has(outer, "Database::iterate")) << e["from_site"].dump(1);
    EXPECT_TRUE(has(outer, "main")) << e["from_site"].dump(1);
    EXPECT_FALSE(has(outer, "Database::get")) << e["from_site"].dump(1);  // not the inner's frames
    if (build == "O0") {
      EXPECT_TRUE(has(inner, "RWLock::lock_reader")) << e["to_site"].dump(1);
    }
    EXPECT_TRUE(has(inner, "Database::get")) << e["to_site"].dump(1);
    EXPECT_TRUE(has(inner, "Database::iterate")) << e["to_site"].dump(1);
    EXPECT_TRUE(has(inner, "main")) << e["to_site"].dump(1);
  }
}

// -O2: the wrappers' calls into libpthread are tail calls, so each lock call's return address
// lies in Database::iterate, which is still running when the other lock is taken: its callers
// (main) are found in the current stack.
TEST(Wrapper, ATailCalledWrapperKeepsTheLocksCallers) { expect_outer_callers("O2"); }
// -O0: the return address lies in RWLock::lock_writer, which has returned; its callers are found
// again from the stack and frame pointers of its lock call (held_stack_hook).
TEST(Wrapper, AWrapperFrameKeepsTheLocksCallers) { expect_outer_callers("O0"); }

// Kyoto Cabinet's case: the wrapper is C code in a shared library built -O2 (kc_rwlock_lib.c),
// whose lock call is not a tail call, and which has returned holding the lock when the inner lock
// is taken. Each outer lock's stack goes on from the wrapper to the user's db_iterate and main.
TEST(Wrapper, AWrapperInASharedLibraryKeepsTheLocksCallers) {
  auto r = run_under("kc_wrapper", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  const json& f = cycles[0];
  ASSERT_EQ(f["chain"].size(), 2u) << f.dump(1);
  for (const auto& e : f["chain"]) {
    auto outer = functions(e["from_site"]["stack"]);
    ASSERT_FALSE(outer.empty()) << e["from_site"].dump(1);
    EXPECT_EQ(outer[0], "kc_lock_writer") << e["from_site"].dump(1);
    EXPECT_TRUE(has(outer, "db_iterate")) << e["from_site"].dump(1);
    EXPECT_TRUE(has(outer, "main")) << e["from_site"].dump(1);
    EXPECT_FALSE(has(outer, "db_get")) << e["from_site"].dump(1);  // not the inner's frames
    auto inner = functions(e["to_site"]["stack"]);
    EXPECT_TRUE(has(inner, "kc_lock_reader")) << e["to_site"].dump(1);
    EXPECT_TRUE(has(inner, "db_get")) << e["to_site"].dump(1);
    EXPECT_TRUE(has(inner, "db_iterate")) << e["to_site"].dump(1);
  }
}

// The wrapper's caller has returned too (wrapper_returned.c): open_ledger took the ledger through
// lock_it and returned; write_entry, called next from main, runs where open_ledger ran. Its frames
// are not the ledger's callers: the ledger's stack stays the wrapper's frame (open_ledger's place
// is not known any more). (A function of exactly open_ledger's frame size called from the same
// place could not be told apart: docs/runtime.md.)
TEST(Wrapper, AReturnedCallerLendsNoFrames) {
  auto r = run_under("wrapper_returned", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  bool seen = false;
  for (const auto& e : cycles[0]["chain"]) {
    auto inner = functions(e["to_site"]["stack"]);
    if (!has(inner, "write_entry")) continue;  // the edge ledger --> journal
    seen = true;
    auto outer = functions(e["from_site"]["stack"]);
    ASSERT_FALSE(outer.empty()) << e["from_site"].dump(1);
    EXPECT_EQ(outer[0], "lock_it") << e["from_site"].dump(1);
    EXPECT_FALSE(has(outer, "write_entry")) << e["from_site"].dump(1);
    if (has(outer, "main")) {
      EXPECT_TRUE(has(outer, "open_ledger")) << e["from_site"].dump(1);
    }
  }
  EXPECT_TRUE(seen) << cycles[0].dump(1);
}

// The same lock call made twice (wrapper_warm.c): warm_up takes `table` through lock_it and
// releases it, then update takes it through the same call (the fast path) and `stats` under it.
// The edge table --> stats shows update's callers, not warm_up's: the engine's record of the
// first acquisition, whose release it was not told of, is not the second.
TEST(Wrapper, ALockTakenAgainThroughTheSameCallHasItsOwnCallers) {
  auto r = run_under("wrapper_warm", {});
  EXPECT_EQ(r.out, "rows=1\n") << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  bool seen = false;
  for (const auto& e : cycles[0]["chain"]) {
    if (e["from"] != "table") continue;
    seen = true;
    auto outer = functions(e["from_site"]["stack"]);
    EXPECT_TRUE(has(outer, "update")) << e["from_site"].dump(1);
    EXPECT_FALSE(has(outer, "warm_up")) << e["from_site"].dump(1);
  }
  EXPECT_TRUE(seen) << cycles[0].dump(1);
}

// The line of the marker `/* @NAME */` in tests/runtime/progs/stack_paths.c (0: not there).
int marker_line(const std::string& name) {
  std::ifstream src(std::string(LOCKHOUND_SOURCE_DIR) + "/tests/runtime/progs/stack_paths.c");
  std::string text;
  for (int n = 1; std::getline(src, text); ++n)
    if (text.find("/* @" + name + " */") != std::string::npos) return n;
  return 0;
}

// The first frame of a JSON stack as "function:line".
std::string top_frame(const json& stack) {
  if (stack.empty()) return "";
  return stack[0].value("function", "") + ":" + std::to_string(stack[0].value("line", 0));
}

// A lock taken alone on the fast path (its class's usage already known), then a lock under it
// for the first time: the engine sees the first lock only when the second is checked (the
// runtime replays it), and its stack is found from the second call's. The first lock's site is
// its own line. (Before, the replay unwound the current stack and the first lock was shown at the
// second one's line: "a taken at a_then_b:31" for a lock taken at line 30.)
TEST(ReportStacks, ALockTheEngineSeesLateIsShownAtItsOwnLine) {
  int a_alone = marker_line("A_ALONE"), b_under_a = marker_line("B_UNDER_A");
  int b_alone = marker_line("B_ALONE"), a_under_b = marker_line("A_UNDER_B");
  ASSERT_GT(a_alone * b_under_a * b_alone * a_under_b, 0);
  auto r = run_under("stack_paths", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  bool ab = false, ba = false;
  for (const auto& f : of_type(r.report, "circular_dependency"))
    for (const auto& e : f["chain"]) {
      std::string from = e["from"], to = e["to"];
      if (from == "a" && to == "b") {
        ab = true;
        EXPECT_EQ(top_frame(e["from_site"]["stack"]), "a_then_b:" + std::to_string(a_alone)) << e.dump(1);
        EXPECT_EQ(top_frame(e["to_site"]["stack"]), "a_then_b:" + std::to_string(b_under_a)) << e.dump(1);
      } else if (from == "b" && to == "a") {
        ba = true;
        EXPECT_EQ(top_frame(e["from_site"]["stack"]), "b_then_a:" + std::to_string(b_alone)) << e.dump(1);
        EXPECT_EQ(top_frame(e["to_site"]["stack"]), "b_then_a:" + std::to_string(a_under_b)) << e.dump(1);
      }
    }
  EXPECT_TRUE(ab && ba) << dump(r);
}

// One function takes two locks, called first from first_caller (d then e) and then from
// second_caller (e then d) at the same stack depth: the same lock calls at the same stack
// pointers. The thread's stack memo has entries for those calls made on first_caller's path; on
// second_caller's they must not match (the return address into first_caller is gone from its
// slot), and each side of the report names its own caller.
TEST(ReportStacks, TheSameCallAtTheSameDepthFromAnotherCallerHasItsOwnStack) {
  auto r = run_under("stack_paths", {});
  ASSERT_EQ(r.out, "stack_paths same-sp\n") << "the two calls are not at one depth: " << dump(r);
  // The memo was there to be asked (stacks it knew, and at least one it did not: second_caller's).
  EXPECT_GT(r.report["stats"].value("stacks_from_memo", 0), 0) << r.report["stats"].dump();
  EXPECT_GE(r.report["stats"].value("stacks_unwound", 0), 16) << r.report["stats"].dump();
  bool de = false, ed = false;
  for (const auto& f : of_type(r.report, "circular_dependency"))
    for (const auto& e : f["chain"]) {
      std::string from = e["from"], to = e["to"];
      if ((from != "d" || to != "e") && (from != "e" || to != "d")) continue;
      const char* mine = from == "d" ? "first_caller" : "second_caller";
      const char* other = from == "d" ? "second_caller" : "first_caller";
      (from == "d" ? de : ed) = true;
      for (const char* side : {"from_site", "to_site"}) {
        auto fns = functions(e[side]["stack"]);
        EXPECT_TRUE(has(fns, "take")) << e[side].dump(1);
        EXPECT_TRUE(has(fns, mine)) << side << ": " << e[side].dump(1);
        EXPECT_FALSE(has(fns, other)) << side << ": " << e[side].dump(1);
      }
    }
  EXPECT_TRUE(de && ed) << dump(r);
}

// A spinlock first used under a mutex, then taken alone (the fast path) and held across usleep:
// the engine sees it only when the sleep is reported (the runtime replays it then), and the report
// shows it taken at its own line, in the held locks and in the fix, not at the sleep's.
TEST(ReportStacks, ALockReplayedForASleepIsShownAtItsOwnLine) {
  int s_alone = marker_line("S_ALONE"), sleep_line = marker_line("SLEEP");
  ASSERT_GT(s_alone * sleep_line, 0);
  auto r = run_under("stack_paths", {});
  auto sleeps = of_type(r.report, "sleeping_in_invalid_context");
  ASSERT_EQ(sleeps.size(), 1u) << dump(r);
  const json& f = sleeps[0];
  bool held = false;
  for (const auto& p : f["participants"])
    for (const auto& h : p["held"])
      if (h.value("name", "") == "s") {
        held = true;
        ASSERT_TRUE(h.contains("site")) << h.dump(1);
        EXPECT_EQ(h["site"].value("line", 0), s_alone) << h.dump(1);
      }
  EXPECT_TRUE(held) << f.dump(1);
  std::string fix = f.value("fix", "");
  EXPECT_NE(fix.find("stack_paths.c:" + std::to_string(s_alone) + ")"), std::string::npos) << fix;
  EXPECT_EQ(fix.find("stack_paths.c:" + std::to_string(sleep_line) + ")"), std::string::npos) << fix;  // usleep's line: not the lock's
  EXPECT_NE(f.value("explanation", "").find("stack_paths.c:" + std::to_string(sleep_line) + ")"), std::string::npos)
      << f.value("explanation", "");
}

}  // namespace
}  // namespace lockhound::rttest
