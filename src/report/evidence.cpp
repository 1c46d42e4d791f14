// What the structured renderers share: shown findings, safe text, the places of a finding's
// evidence, SHA-256 for fingerprints.
#include <array>
#include <cstdint>
#include <cstring>

#include "core/sites.h"
#include "report/report_internal.h"

namespace lockhound {
namespace report {

std::vector<const Finding*> shown_findings(const std::vector<Finding>& findings, const RenderOptions& options) {
  std::vector<const Finding*> out;
  for (const auto& f : findings)
    if (finding_severity(f) != "note" || options.show_guarded) out.push_back(&f);
  return out;
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && n > 1) {
      // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 either.
      uint32_t cp = c & (0xff >> (n + 1));
      for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[n] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok && c < 0x80 && c != '\t' && c != '\n' && c != '\r' && (c < 0x20 || c == 0x7f)) ok = false;
    if (!ok) {
      out += "\xef\xbf\xbd";
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string html_escape(std::string_view raw) {
  std::string s = valid_utf8(raw), out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

bool frame_is_empty(const Frame& fr) {
  return fr.pc == 0 && fr.function.empty() && fr.file.empty() && fr.object.empty();
}

const Frame* acquisition_frame(const Acquisition& a) {
  if (!frame_is_empty(a.site) && !is_plumbing(a.site)) return &a.site;
  if (const Frame* f = user_frame(a.stack)) return f;
  if (!frame_is_empty(a.site)) return &a.site;
  for (const auto& fr : a.stack)
    if (!frame_is_empty(fr)) return &fr;
  return nullptr;
}

std::string context_label(const Acquisition& a) {
  std::string s = a.context;
  if (!a.irq.empty()) s += (s.empty() ? "" : " ") + std::string("in ") + a.irq + " context";
  return s;
}

namespace {
std::string by(const Acquisition& a) {
  std::string c = context_label(a);
  return c.empty() ? "" : ", by " + c;
}

Place acquisition_place(const Acquisition& a) {
  std::string what = a.lock.empty() ? "lock" : a.lock;
  if (!a.mode.empty() && a.mode != "write") what += " (" + a.mode + ")";
  return {acquisition_frame(a), what + by(a)};
}

Place participant_place(const Participant& p) {
  std::string who = p.name + (p.pid >= 0 ? "/" + std::to_string(p.pid) : "");
  if (!p.waits_for.empty()) who += ", waiting for " + p.waits_for;
  return {user_frame(p.stack), who};
}

bool sleep_family(FindingType t) {
  return t == FindingType::invalid_wait_context || t == FindingType::sleeping_in_invalid_context ||
         t == FindingType::blocking_call_under_lock;
}
}  // namespace

Place edge_from_place(const Edge& e) { return {acquisition_frame(e.from_site), e.from + " taken" + by(e.from_site)}; }
Place edge_to_place(const Edge& e) {
  return {acquisition_frame(e.to_site), e.to + " taken while holding " + e.from + by(e.to_site)};
}

Place decisive_place(const Finding& f) {
  if (!f.chain.empty()) return edge_to_place(f.chain.back());
  if (!f.acquisitions.empty())
    return acquisition_place(sleep_family(f.type) ? f.acquisitions.front() : f.acquisitions.back());
  for (const auto& p : f.participants) {
    Place pl = participant_place(p);
    if (pl.frame) return pl;
  }
  return {};
}

std::vector<Place> related_places(const Finding& f) {
  std::vector<Place> all;
  for (const auto& e : f.chain) {
    all.push_back(edge_from_place(e));
    all.push_back(edge_to_place(e));
  }
  for (const auto& a : f.acquisitions) all.push_back(acquisition_place(a));
  for (const auto& p : f.participants) all.push_back(participant_place(p));
  Place decisive = decisive_place(f);
  std::vector<Place> out;
  auto same = [](const Place& a, const Place& b) { return a.frame == b.frame && a.label == b.label; };
  for (auto& p : all) {
    if (!p.frame || same(p, decisive)) continue;
    bool seen = false;
    for (const auto& o : out) seen = seen || same(o, p);
    if (!seen) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace report

// ---- SHA-256 (FIPS 180-4): a fingerprint anyone can recompute (`printf %s SIG | sha256sum`).
std::string sha256_hex(std::string_view data) {
  static constexpr uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  std::string msg(data);
  uint64_t bits = uint64_t(data.size()) * 8;
  msg += '\x80';
  while (msg.size() % 64 != 56) msg += '\0';
  for (int i = 7; i >= 0; --i) msg += char((bits >> (i * 8)) & 0xff);
  for (size_t off = 0; off < msg.size(); off += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + off + i * 4);
      w[i] = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
    }
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint32_t v : h)
    for (int i = 28; i >= 0; i -= 4) out += kHex[(v >> i) & 0xf];
  return out;
}

}  // namespace lockhound
