#include "db/codec.h"

#include <nlohmann/json.hpp>

#include "core/types.h"
#include "core/voice.h"

namespace lockhound::db {
namespace {

using json = nlohmann::json;

// Empty strings and default values are left out: the evidence of a million edges is most of a
// database's size.
void put(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

json frame_json(const Frame& f) {
  json j = json::object();
  if (f.pc) j["pc"] = f.pc;
  put(j, "fn", f.function);
  put(j, "off", f.offset);
  put(j, "file", f.file);
  if (f.line) j["line"] = f.line;
  if (f.column) j["col"] = f.column;
  put(j, "obj", f.object);
  if (f.inlined) j["inl"] = true;
  return j;
}
json stack_json(const Stack& s) {
  json a = json::array();
  for (const auto& f : s) a.push_back(frame_json(f));
  return a;
}
json held_json(const HeldLock& h) {
  json j = json::object();
  put(j, "name", h.name);
  put(j, "addr", h.address);
  put(j, "mode", h.mode);
  put(j, "usage", h.usage);
  json site = frame_json(h.site);
  if (!site.empty()) j["site"] = std::move(site);
  return j;
}
json acquisition_json(const Acquisition& a) {
  json j = json::object();
  put(j, "lock", a.lock);
  put(j, "mode", a.mode);
  put(j, "ctx", a.context);
  put(j, "irq", a.irq);
  if (!a.irqs_enabled) j["irqs_off"] = true;
  if (!a.stack.empty()) j["stack"] = stack_json(a.stack);
  json site = frame_json(a.site);
  if (!site.empty()) j["site"] = std::move(site);
  if (!a.held.empty()) {
    json h = json::array();
    for (const auto& x : a.held) h.push_back(held_json(x));
    j["held"] = std::move(h);
  }
  return j;
}
json edge_json(const Edge& e) {
  json j = json::object();
  put(j, "from", e.from);
  put(j, "to", e.to);
  j["a"] = acquisition_json(e.from_site);
  j["b"] = acquisition_json(e.to_site);
  put(j, "dep", e.dep);
  if (!e.gates.empty()) j["gates"] = e.gates;
  return j;
}

// Decoding: every value is checked for its type; a wrong one throws out of the helpers and the
// caller turns it into "what was expected".
struct Bad {
  std::string what;
};
const json& need_object(const json& j, const char* what) {
  if (!j.is_object()) throw Bad{std::string("expected an object for ") + what};
  return j;
}
std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (!it->is_string()) throw Bad{std::string("expected a string for \"") + key + "\""};
  return it->get<std::string>();
}
uint64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
    throw Bad{std::string("expected a non-negative integer for \"") + key + "\""};
  return it->get<uint64_t>();
}
int64_t inum(const json& j, const char* key, int64_t dflt) {
  auto it = j.find(key);
  if (it == j.end()) return dflt;
  if (!it->is_number_integer()) throw Bad{std::string("expected an integer for \"") + key + "\""};
  return it->get<int64_t>();
}
bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (!it->is_boolean()) throw Bad{std::string("expected true or false for \"") + key + "\""};
  return it->get<bool>();
}
const json* arr(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return nullptr;
  if (!it->is_array()) throw Bad{std::string("expected an array for \"") + key + "\""};
  return &*it;
}
std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (const json* a = arr(j, key))
    for (const auto& s : *a) {
      if (!s.is_string()) throw Bad{std::string("expected strings in \"") + key + "\""};
      out.push_back(s.get<std::string>());
    }
  return out;
}
Frame frame_of(const json& j) {
  need_object(j, "a frame");
  Frame f;
  f.pc = num(j, "pc");
  f.function = str(j, "fn");
  f.offset = str(j, "off");
  f.file = str(j, "file");
  uint64_t line = num(j, "line");
  if (line > UINT32_MAX) throw Bad{"line number out of range"};
  f.line = unsigned(line);
  uint64_t column = num(j, "col");
  if (column > UINT32_MAX) throw Bad{"column number out of range"};
  f.column = unsigned(column);
  f.object = str(j, "obj");
  f.inlined = flag(j, "inl");
  return f;
}
Stack stack_of(const json& j, const char* key) {
  Stack s;
  if (const json* a = arr(j, key))
    for (const auto& f : *a) s.push_back(frame_of(f));
  return s;
}
Frame site_of(const json& j) {
  auto it = j.find("site");
  return it == j.end() ? Frame{} : frame_of(*it);
}
std::vector<HeldLock> held_of(const json& j) {
  std::vector<HeldLock> out;
  if (const json* a = arr(j, "held"))
    for (const auto& h : *a) {
      need_object(h, "a held lock");
      HeldLock x;
      x.name = str(h, "name");
      x.address = str(h, "addr");
      x.mode = str(h, "mode");
      x.usage = str(h, "usage");
      x.site = site_of(h);
      out.push_back(std::move(x));
    }
  return out;
}
Acquisition acquisition_of(const json& j) {
  need_object(j, "an acquisition");
  Acquisition a;
  a.lock = str(j, "lock");
  a.mode = str(j, "mode");
  a.context = str(j, "ctx");
  a.irq = str(j, "irq");
  a.irqs_enabled = !flag(j, "irqs_off");
  a.stack = stack_of(j, "stack");
  a.site = site_of(j);
  a.held = held_of(j);
  return a;
}
const json& member(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw Bad{std::string("missing \"") + key + "\""};
  return *it;
}
void edge_of(const json& j, Edge& e) {
  need_object(j, "an edge");
  std::string from = str(j, "from"), to = str(j, "to");
  if (!from.empty()) e.from = from;
  if (!to.empty()) e.to = to;
  e.from_site = acquisition_of(member(j, "a"));
  e.to_site = acquisition_of(member(j, "b"));
  e.dep = str(j, "dep");
  e.gates = strings(j, "gates");
}

template <typename Fn>
bool decode(std::string_view text, std::string& error, Fn&& fn) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    error = "not JSON";
    return false;
  }
  try {
    fn(j);
    return true;
  } catch (const Bad& b) {
    error = b.what;
  } catch (const std::exception& e) {
    error = e.what();
  }
  return false;
}

// The evidence of every edge is written at a process's end (a million edges for a big program):
// written directly, not through json objects, as the same JSON decode_evidence reads.
struct Writer {
  std::string out;
  bool first = true;
  void str(std::string_view v) {
    out += '"';
    for (size_t i = 0; i < v.size();) {
      unsigned char c = static_cast<unsigned char>(v[i]);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += char(c);
        ++i;
      } else if (c < 0x20) {
        static const char hex[] = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
        ++i;
      } else if (c < 0x80) {
        out += char(c);
        ++i;
      } else {
        // A whole UTF-8 sequence is copied; a broken one becomes U+FFFD (JSON is UTF-8).
        size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        bool ok = n && i + n <= v.size();
        for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(v[i + k]) & 0xc0) == 0x80;
        if (ok && n == 3) {
          unsigned char d = static_cast<unsigned char>(v[i + 1]);
          ok = !(c == 0xe0 && d < 0xa0) && !(c == 0xed && d >= 0xa0);
        }
        if (ok && n == 4) {
          unsigned char d = static_cast<unsigned char>(v[i + 1]);
          ok = !(c == 0xf0 && d < 0x90) && !(c == 0xf4 && d >= 0x90);
        }
        if (ok) {
          out.append(v.data() + i, n);
          i += n;
        } else {
          out += "\xef\xbf\xbd";
          ++i;
        }
      }
    }
    out += '"';
  }
  void key(const char* k) {
    if (!first) out += ',';
    first = false;
    str(k);
    out += ':';
  }
  void open(char c) {
    out += c;
    first = true;
  }
  void close(char c) {
    out += c;
    first = false;
  }
  void put(const char* k, const std::string& v) {
    if (v.empty()) return;
    key(k);
    str(v);
  }
  void put(const char* k, uint64_t v) {
    if (!v) return;
    key(k);
    out += std::to_string(v);
  }
  void item() {
    if (!first) out += ',';
    first = false;
  }
  void frame(const Frame& f) {
    open('{');
    put("pc", f.pc);
    put("fn", f.function);
    put("off", f.offset);
    put("file", f.file);
    put("line", uint64_t{f.line});
    put("col", uint64_t{f.column});
    put("obj", f.object);
    if (f.inlined) {
      key("inl");
      out += "true";
    }
    close('}');
  }
  static bool empty(const Frame& f) {
    return !f.pc && f.function.empty() && f.offset.empty() && f.file.empty() && !f.line && !f.column &&
           f.object.empty() && !f.inlined;
  }
  void acquisition(const Acquisition& a) {
    open('{');
    put("lock", a.lock);
    put("mode", a.mode);
    put("ctx", a.context);
    put("irq", a.irq);
    if (!a.irqs_enabled) {
      key("irqs_off");
      out += "true";
    }
    if (!a.stack.empty()) {
      key("stack");
      open('[');
      for (const auto& f : a.stack) {
        item();
        frame(f);
      }
      close(']');
    }
    if (!empty(a.site)) {
      key("site");
      frame(a.site);
    }
    if (!a.held.empty()) {
      key("held");
      open('[');
      for (const auto& h : a.held) {
        item();
        open('{');
        put("name", h.name);
        put("addr", h.address);
        put("mode", h.mode);
        put("usage", h.usage);
        if (!empty(h.site)) {
          key("site");
          frame(h.site);
        }
        close('}');
      }
      close(']');
    }
    close('}');
  }
};

}  // namespace

bool finding_type_from_name(std::string_view name, FindingType& t) {
  for (int i = 0; i <= int(FindingType::blocking_call_under_lock); ++i)
    if (type_name(FindingType(i)) == name) {
      t = FindingType(i);
      return true;
    }
  return false;
}

bool lock_kind_from_name(std::string_view name, LockKind& k) {
  for (int i = 0; i <= int(LockKind::callback); ++i)
    if (kind_name(LockKind(i)) == name) {
      k = LockKind(i);
      return true;
    }
  return false;
}

std::string encode_evidence(const Edge& e) {
  Writer w;
  w.out.reserve(1024);
  w.open('{');
  w.key("a");
  w.acquisition(e.from_site);
  w.key("b");
  w.acquisition(e.to_site);
  w.put("dep", e.dep);
  if (!e.gates.empty()) {
    w.key("gates");
    w.open('[');
    for (const auto& g : e.gates) {
      w.item();
      w.str(g);
    }
    w.close(']');
  }
  w.close('}');
  return std::move(w.out);
}

bool decode_evidence(std::string_view text, Edge& e, std::string& error) {
  Edge out = e;
  if (!decode(text, error, [&](const json& j) { edge_of(j, out); })) return false;
  e = std::move(out);
  return true;
}

std::string encode_finding(const Finding& f) {
  json j = json::object();
  j["type"] = std::string(type_name(f.type));
  put(j, "source", f.source);
  j["classes"] = f.classes;
  if (!f.chain.empty()) {
    json c = json::array();
    for (const auto& e : f.chain) c.push_back(edge_json(e));
    j["chain"] = std::move(c);
  }
  if (!f.acquisitions.empty()) {
    json a = json::array();
    for (const auto& x : f.acquisitions) a.push_back(acquisition_json(x));
    j["acq"] = std::move(a);
  }
  if (!f.participants.empty()) {
    json a = json::array();
    for (const auto& p : f.participants) {
      json q = json::object();
      put(q, "name", p.name);
      if (p.pid != -1) q["pid"] = p.pid;
      put(q, "state", p.state);
      put(q, "waits", p.waits_for);
      if (!p.held.empty()) {
        json h = json::array();
        for (const auto& x : p.held) h.push_back(held_json(x));
        q["held"] = std::move(h);
      }
      if (!p.stack.empty()) q["stack"] = stack_json(p.stack);
      a.push_back(std::move(q));
    }
    j["parts"] = std::move(a);
  }
  if (!f.details.empty()) {
    json d = json::array();
    for (const auto& [k, v] : f.details) d.push_back(json::array({k, v}));
    j["details"] = std::move(d);
  }
  put(j, "location", f.location);
  put(j, "raw", f.raw);
  j["count"] = f.count;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool decode_finding(std::string_view text, Finding& f, std::string& error) {
  Finding out;
  bool ok = decode(text, error, [&](const json& j) {
    need_object(j, "a finding");
    std::string type = str(j, "type");
    if (!finding_type_from_name(type, out.type)) throw Bad{"unknown finding type \"" + type + "\""};
    out.source = str(j, "source");
    out.classes = strings(j, "classes");
    if (const json* c = arr(j, "chain"))
      for (const auto& e : *c) {
        Edge edge;
        edge_of(e, edge);
        out.chain.push_back(std::move(edge));
      }
    if (const json* a = arr(j, "acq"))
      for (const auto& x : *a) out.acquisitions.push_back(acquisition_of(x));
    if (const json* a = arr(j, "parts"))
      for (const auto& q : *a) {
        need_object(q, "a participant");
        Participant p;
        p.name = str(q, "name");
        p.pid = inum(q, "pid", -1);
        p.state = str(q, "state");
        p.waits_for = str(q, "waits");
        p.held = held_of(q);
        p.stack = stack_of(q, "stack");
        out.participants.push_back(std::move(p));
      }
    if (const json* d = arr(j, "details"))
      for (const auto& kv : *d) {
        if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
          throw Bad{"expected [key, value] pairs of strings in \"details\""};
        out.details.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
      }
    out.location = str(j, "location");
    out.raw = str(j, "raw");
    out.count = num(j, "count");
  });
  if (!ok) return false;
  // The words and the signature are derived again, by this lockhound's finding layer.
  complete_finding(out);
  f = std::move(out);
  return ok;
}

}  // namespace lockhound::db
