// explain on real reports damaged on their way to the user, made from the real splats in
// ../shared/testdata/splats in the test itself: every line cut at the start (a console window or a
// web view that lost the first K characters: the timestamp partly or wholly, then the text), and
// quoted-printable mail (=3D, soft line breaks, =20) quoted with "> " or ">> " and indented by the
// mail client. Each variant must give the finding the clean text gives: the same type, the same
// lock names, the same signature (and the same number of chain edges).
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "core/facts.h"
#include "explain/explain.h"

namespace lockhound::explain {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> splat_files() {
  std::vector<std::string> out;
  std::istringstream in(testing::read_file(testing::shared_dir() / "testdata/splats/INDEX.tsv"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line.substr(0, line.find('\t')));
  return out;
}

std::string splat(const std::string& file) { return testing::read_file(testing::shared_dir() / "testdata/splats" / file); }

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

// Every line without its first k characters.
std::string cut(const std::string& text, size_t k) {
  std::string out;
  for (const auto& l : lines_of(text)) out += (l.size() > k ? l.substr(k) : std::string()) + "\n";
  return out;
}

// The width of the first line's "[  123.456789] " or "[  123.456789][ T1234] " prefix; 0 when none.
size_t prefix_width(const std::string& text) {
  for (const auto& l : lines_of(text)) {
    if (l.empty() || l[0] != '[') continue;
    size_t close = l.find("] ");
    size_t close2 = l.find("][");
    if (close2 != std::string::npos && close2 < close) close = l.find("] ", close2 + 2);
    if (close != std::string::npos && l.find('.') < close) return close + 2;
  }
  return 0;
}

// RFC 2045 quoted-printable: '=' and bytes outside printable ASCII as =XX, a space or tab at the
// end of a line as =20 / =09, lines longer than 76 characters broken with soft line breaks.
std::string qp_encode(const std::string& text) {
  std::string out;
  for (const auto& l : lines_of(text)) {
    std::string e;
    for (size_t i = 0; i < l.size(); ++i) {
      auto c = static_cast<unsigned char>(l[i]);
      bool trailing_space = (c == ' ' || c == '\t') && i + 1 == l.size();
      if (c == '=' || c > 126 || (c < 32 && c != '\t') || trailing_space) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "=%02X", c);
        e += buf;
      } else {
        e += static_cast<char>(c);
      }
    }
    while (e.size() > 76) {
      size_t at = 75;
      if (e[at - 1] == '=') at -= 1;
      else if (e[at - 2] == '=') at -= 2;  // never split an escape
      out += e.substr(0, at) + "=\n";
      e = e.substr(at);
    }
    out += e + "\n";
  }
  return out;
}

// Every line prefixed with `marker` (an empty line gets the marker without its trailing spaces).
std::string quote(const std::string& text, const std::string& marker) {
  std::string bare = marker.substr(0, marker.find_last_not_of(' ') + 1);
  std::string out;
  for (const auto& l : lines_of(text)) out += (l.empty() ? bare : marker + l) + "\n";
  return out;
}

struct Shape {
  std::string type, classes, signature;
  size_t chain = 0;
};

std::vector<Shape> shapes(const ExplainResult& r) {
  std::vector<Shape> out;
  for (const auto& f : r.findings) {
    std::multiset<std::string> cls(f.classes.begin(), f.classes.end());
    std::string c;
    for (const auto& x : cls) c += x + ";";
    out.push_back({std::string(type_name(f.type)), c, f.signature, f.chain.size()});
  }
  return out;
}

void expect_same(const ExplainResult& clean, const ExplainResult& got, const std::string& what) {
  SCOPED_TRACE(what);
  auto a = shapes(clean), b = shapes(got);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].type, a[i].type);
    EXPECT_EQ(b[i].classes, a[i].classes);
    EXPECT_EQ(b[i].signature, a[i].signature);
    EXPECT_EQ(b[i].chain, a[i].chain);
  }
}

TEST(CutLines, TimestampsCutPartlyOrWhollyChangeNothing) {
  LOCKHOUND_REQUIRE_SHARED();
  size_t tried = 0;
  for (const auto& file : splat_files()) {
    std::string text = splat(file);
    size_t w = prefix_width(text);
    if (!w) continue;
    ExplainResult clean = explain_log(text, file);
    for (size_t k : {size_t(3), w - 2, w}) {
      std::string what = file + " cut by " + std::to_string(k) + " (prefix " + std::to_string(w) + ")";
      ExplainResult got = explain_log(cut(text, k), file);
      expect_same(clean, got, what);
      ++tried;
      // What is left of a timestamp shows the cut: the finding says so (the text itself is whole).
      if (k < w && !got.findings.empty()) {
        EXPECT_EQ(fact::get(got.findings[0], fact::kLinesCut), "prefix") << what;
      }
    }
  }
  EXPECT_GE(tried, 60u);
}

// Cut into the text: the lines at the left margin (headline, lock lines, "-> #N" entries, held
// lists) lost their first characters. These reports keep everything their signature rests on;
// the others lose what cannot come back (a function name at a one-space indent, a torn lock name
// at the margin) and are left out.
TEST(CutLines, TextCutKeepsTypeLocksAndSignature) {
  LOCKHOUND_REQUIRE_SHARED();
  struct Case {
    std::string file;
    std::vector<size_t> into_text;  // characters lost beyond the timestamp (all of it, if any)
  };
  const std::vector<Case> cases = {
      {"002-circular.txt", {1, 2, 3}},  {"004-circular.txt", {1, 2, 3}},     {"006-circular.txt", {2, 3}},
      {"008-circular.txt", {2, 3}},     {"010-circular.txt", {2, 3}},        {"012-circular.txt", {2, 3}},
      {"014-circular.txt", {1, 2, 3}},  {"016-circular.txt", {2, 3}},        {"022-recursive.txt", {1}},
      {"027-inconsistent.txt", {2, 3}}, {"029-inconsistent.txt", {2, 3}},    {"033-inconsistent.txt", {1, 2, 3}},
      {"035-irq-inversion.txt", {1, 2}}, {"046-return-to-user.txt", {1, 2, 3}}, {"050-nested-lock.txt", {2, 3}},
      {"052-invalid-wait.txt", {2, 3}}, {"054-invalid-wait.txt", {1, 2, 3}}, {"057-max-too-low.txt", {1, 2, 3}},
      {"059-still-has-locks.txt", {2, 3}}, {"063-hung-task.txt", {1}},      {"085-witness-lor.txt", {1}},
  };
  size_t at_margin_checked = 0;
  for (const auto& c : cases) {
    std::string text = splat(c.file);
    size_t w = prefix_width(text);
    ExplainResult clean = explain_log(text, c.file);
    ASSERT_FALSE(clean.findings.empty()) << c.file;
    // A headline at the left margin lost characters too: the finding says the lines were cut. An
    // indented or quoted one (an excerpt in a commit message or a mail) keeps its words and there is nothing to tell.
    const std::string& loc = clean.findings[0].location;
    size_t head_line = std::stoul(loc.substr(loc.rfind(':') + 1));
    std::string head = lines_of(text).at(head_line - 1);
    bool at_margin = head.size() > w && head[w] != ' ' && head[w] != '>';
    for (size_t k : c.into_text) {
      std::string what = c.file + " cut " + std::to_string(k) + " into the text";
      ExplainResult got = explain_log(cut(text, w + k), c.file);
      expect_same(clean, got, what);
      if (got.findings.empty() || !at_margin) continue;
      ++at_margin_checked;
      const Finding& f = got.findings[0];
      EXPECT_EQ(fact::get(f, fact::kLinesCut), "text") << what;
      EXPECT_NE(f.explanation.find("first characters cut off"), std::string::npos) << what << ": " << f.explanation;
    }
  }
  EXPECT_GE(at_margin_checked, 30u);
}

TEST(CutLines, HeadlinesAreKnownByWhatIsLeft) {
  auto type_of = [](const std::string& log) {
    ExplainResult r = explain_log(log, "t");
    return r.findings.empty() ? std::string("none") : std::string(type_name(r.findings[0].type));
  };
  EXPECT_EQ(type_of("ARNING: possible circular locking dependency detected\n"), "circular_dependency");
  EXPECT_EQ(type_of("ossible recursive locking detected\n"), "recursive_locking");
  EXPECT_EQ(type_of("NFO: inconsistent lock state ]\n"), "inconsistent_lock_state");
  EXPECT_EQ(type_of("FO: task kworker/0:1:12 blocked for more than 120 seconds.\n"), "hung_task");
  EXPECT_EQ(type_of("G: spinlock bad magic on CPU#0, insmod/77\n"), "spinlock_bad_magic");
  EXPECT_EQ(type_of("tness: lock order reversal:\n"), "witness_lock_order_reversal");
  // Too little left to tell (under 60% of the headline, or under 12 characters): not a report.
  EXPECT_EQ(type_of("dependency detected\n"), "none");
  EXPECT_EQ(type_of("ng detected\n"), "none");
  EXPECT_EQ(type_of("lock state\n"), "none");
  // A whole headline is not a cut one.
  ExplainResult whole = explain_log("WARNING: possible recursive locking detected\n", "t");
  ASSERT_EQ(whole.findings.size(), 1u);
  EXPECT_FALSE(fact::has(whole.findings[0], fact::kLinesCut));
}

TEST(MailTransport, QuotedPrintableQuotedAndIndented) {
  LOCKHOUND_REQUIRE_SHARED();
  size_t tried = 0, encoded = 0;
  for (const auto& file : splat_files()) {
    std::string text = splat(file);
    ExplainResult clean = explain_log(text, file);
    std::string qp = qp_encode(text);
    if (qp != text) ++encoded;
    const std::vector<std::pair<std::string, std::string>> variants = {
        {"quoted-printable", qp},
        {"quoted-printable, then quoted \"> \"", quote(qp, "> ")},
        {"quoted-printable, then quoted \">> \"", quote(qp, ">> ")},
        {"quoted \"> \", then quoted-printable", qp_encode(quote(text, "> "))},
        {"quoted-printable, quoted and indented \"  >    \"", quote(qp, "  >    ")},
        {"quoted \"> > \" in a mail body", "Hello,\n\nwe hit this:\n\n" + quote(quote(qp, "> "), "> ") + "\nThanks\n"},
    };
    for (const auto& [how, v] : variants) {
      expect_same(clean, explain_log(v, file), file + ": " + how);
      ++tried;
    }
  }
  EXPECT_GE(tried, 200u);
  EXPECT_GE(encoded, 30u) << "most splats have '=' or long lines: the encoding must change them";
}

}  // namespace
}  // namespace lockhound::explain
