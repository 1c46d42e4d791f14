#include "scan/codec.h"

#include <nlohmann/json.hpp>

namespace lockhound::scan {
namespace {

using json = nlohmann::json;

// ---------------------------------------------------------------- encode
json enc(const LockRef& l) { return json::array({l.cls, l.inst, int(l.kind)}); }
json enc(const SrcLoc& l) { return json::array({l.file, l.line, l.col}); }

json enc(const Op& o) {
  json j = json::object();
  j["k"] = int(o.kind);
  j["l"] = enc(o.loc);
  if (!o.api.empty()) j["a"] = o.api;
  if (!o.lock.cls.empty() || !o.lock.inst.empty()) j["lk"] = enc(o.lock);
  if (o.mode != Mode::write) j["m"] = int(o.mode);
  if (o.read_irq_recursive) j["rr"] = true;
  if (o.trylock) j["t"] = true;
  if (o.try_zero) j["tz"] = true;
  if (o.token >= 0) j["tk"] = o.token;
  if (o.irq != IrqEffect::none) j["i"] = int(o.irq);
  if (o.subclass) j["sc"] = o.subclass;
  if (!o.nest.cls.empty() || !o.nest.inst.empty()) j["n"] = enc(o.nest);
  if (o.scope_end) j["se"] = o.scope_end;
  if (o.irq_op != IrqOp::none) j["io"] = int(o.irq_op);
  if (!o.what.empty()) j["w"] = o.what;
  if (o.gfp_param >= 0) j["g"] = o.gfp_param;
  if (!o.targets.empty()) j["tg"] = o.targets;
  if (!o.args.empty()) {
    json a = json::array();
    for (const auto& x : o.args) a.push_back(json::array({enc(x.lock), x.param, x.has_value, x.value}));
    j["ar"] = std::move(a);
  }
  if (!o.vars.empty()) j["v"] = o.vars;
  if (o.fact_value) j["fv"] = true;
  return j;
}

json enc(const FunctionFacts& f) {
  json blocks = json::array();
  for (const auto& b : f.blocks) {
    json ops = json::array();
    for (const auto& o : b.ops) ops.push_back(enc(o));
    blocks.push_back(json::array({std::move(ops), json::array({b.cond.key, b.cond.vars, b.cond.negate, b.cond.token}), b.succ}));
  }
  return json::array({f.key, f.name, enc(f.loc), f.end_line, f.file_scope, f.entry, f.exit, std::move(blocks)});
}

// ---------------------------------------------------------------- decode
// Each getter checks the type (and range) before reading: nothing here throws on bad input.
struct Dec {
  std::string why;
  bool fail(const char* w) {
    if (why.empty()) why = w;
    return false;
  }
  bool str(const json& j, std::string& out) {
    if (!j.is_string()) return fail("expected a string");
    out = j.get_ref<const std::string&>();
    return true;
  }
  template <class T>
  bool uint(const json& j, T& out, uint64_t max) {
    if (!j.is_number_unsigned()) return fail("expected an unsigned number");
    uint64_t v = j.get<uint64_t>();
    if (v > max) return fail("number out of range");
    out = T(v);
    return true;
  }
  bool sint(const json& j, int32_t& out, int64_t lo, int64_t hi) {
    if (!j.is_number_integer()) return fail("expected an integer");
    int64_t v = j.get<int64_t>();
    if (v < lo || v > hi) return fail("integer out of range");
    out = int32_t(v);
    return true;
  }
  bool boolean(const json& j, bool& out) {
    if (!j.is_boolean()) return fail("expected a boolean");
    out = j.get<bool>();
    return true;
  }
  bool arr(const json& j, size_t n) {
    if (!j.is_array() || j.size() != n) return fail("expected an array of the right size");
    return true;
  }
  bool strs(const json& j, std::vector<std::string>& out) {
    if (!j.is_array()) return fail("expected an array of strings");
    for (const auto& x : j) {
      std::string s;
      if (!str(x, s)) return false;
      out.push_back(std::move(s));
    }
    return true;
  }
  bool lock(const json& j, LockRef& l) {
    uint8_t k = 0;
    if (!arr(j, 3) || !str(j[0], l.cls) || !str(j[1], l.inst) || !uint(j[2], k, uint64_t(LockKind::callback)))
      return false;
    l.kind = LockKind(k);
    return true;
  }
  bool loc(const json& j, SrcLoc& l) {
    return arr(j, 3) && uint(j[0], l.file, UINT32_MAX) && uint(j[1], l.line, UINT32_MAX) && uint(j[2], l.col, UINT32_MAX);
  }
  bool op(const json& j, Op& o) {
    if (!j.is_object()) return fail("expected an op object");
    uint8_t k = 0;
    if (!j.contains("k") || !uint(j["k"], k, uint64_t(OpKind::queue))) return fail("bad op kind");
    o.kind = OpKind(k);
    if (!j.contains("l") || !loc(j["l"], o.loc)) return fail("bad op location");
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& key = it.key();
      const json& v = it.value();
      bool ok = true;
      uint8_t u8 = 0;
      if (key == "k" || key == "l") continue;
      else if (key == "a") ok = str(v, o.api);
      else if (key == "lk") ok = lock(v, o.lock);
      else if (key == "m") ok = uint(v, u8, 2), o.mode = Mode(u8);
      else if (key == "rr") ok = boolean(v, o.read_irq_recursive);
      else if (key == "t") ok = boolean(v, o.trylock);
      else if (key == "tz") ok = boolean(v, o.try_zero);
      else if (key == "tk") ok = sint(v, o.token, -1, INT32_MAX);
      else if (key == "i") ok = uint(v, u8, 3), o.irq = IrqEffect(u8);
      else if (key == "sc") ok = uint(v, o.subclass, 7);
      else if (key == "n") ok = lock(v, o.nest);
      else if (key == "se") ok = uint(v, o.scope_end, UINT32_MAX);
      else if (key == "io") ok = uint(v, u8, uint64_t(IrqOp::bh_enable)), o.irq_op = IrqOp(u8);
      else if (key == "w") ok = str(v, o.what);
      else if (key == "g") ok = sint(v, o.gfp_param, -1, 64);
      else if (key == "tg") ok = strs(v, o.targets);
      else if (key == "v") ok = strs(v, o.vars);
      else if (key == "fv") ok = boolean(v, o.fact_value);
      else if (key == "ar") {
        if (!v.is_array()) return fail("bad args");
        for (const auto& a : v) {
          ArgFact f;
          if (!arr(a, 4) || !lock(a[0], f.lock) || !sint(a[1], f.param, -1, 1024) || !boolean(a[2], f.has_value) ||
              !uint(a[3], f.value, UINT64_MAX))
            return false;
          o.args.push_back(std::move(f));
        }
      } else {
        return fail("unknown op field");
      }
      if (!ok) return false;
    }
    return true;
  }
  bool function(const json& j, FunctionFacts& f) {
    if (!arr(j, 8) || !str(j[0], f.key) || !str(j[1], f.name) || !loc(j[2], f.loc) || !uint(j[3], f.end_line, UINT32_MAX) ||
        !boolean(j[4], f.file_scope) || !sint(j[5], f.entry, 0, INT32_MAX) || !sint(j[6], f.exit, 0, INT32_MAX))
      return false;
    if (!j[7].is_array()) return fail("bad blocks");
    for (const auto& bj : j[7]) {
      Block b;
      if (!arr(bj, 3) || !bj[0].is_array() || !arr(bj[1], 4) || !bj[2].is_array()) return fail("bad block");
      for (const auto& oj : bj[0]) {
        Op o;
        if (!op(oj, o)) return false;
        b.ops.push_back(std::move(o));
      }
      if (!str(bj[1][0], b.cond.key) || !strs(bj[1][1], b.cond.vars) || !boolean(bj[1][2], b.cond.negate) ||
          !sint(bj[1][3], b.cond.token, -1, INT32_MAX))
        return false;
      for (const auto& s : bj[2]) {
        int32_t x = 0;
        if (!sint(s, x, -1, INT32_MAX)) return false;
        b.succ.push_back(x);
      }
      f.blocks.push_back(std::move(b));
    }
    // Successors and entry/exit must name blocks of this function.
    auto n = int32_t(f.blocks.size());
    if (n == 0 || f.entry >= n || f.exit >= n) return fail("entry or exit outside the function");
    for (const auto& b : f.blocks)
      for (int32_t s : b.succ)
        if (s >= n) return fail("successor outside the function");
    return true;
  }
};

}  // namespace

uint64_t stable_hash(std::string_view data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string encode_entry(const CacheEntry& e) {
  json j = json::object();
  j["format"] = "lockhound-scan-cache";
  j["version"] = kCacheFormatVersion;
  j["file"] = e.file;
  j["flags"] = e.flags_hash;
  j["content"] = e.content_hash;
  json inc = json::array();
  for (const auto& i : e.includes) inc.push_back(json::array({i.path, i.size, i.mtime, i.hash}));
  j["includes"] = std::move(inc);
  const TuFacts& t = e.facts;
  json facts = json::object();
  facts["main"] = t.main_file;
  facts["files"] = t.files;
  json fns = json::array();
  for (const auto& f : t.functions) fns.push_back(enc(f));
  facts["functions"] = std::move(fns);
  json regs = json::array();
  for (const auto& r : t.registrations)
    regs.push_back(json::array({r.fn, int(r.context), r.object, r.via, r.registrar, enc(r.loc), int(r.irqs), enc(r.held)}));
  facts["registrations"] = std::move(regs);
  json binds = json::array();
  for (const auto& b : t.bindings) binds.push_back(json::array({b.field, b.fn, b.group}));
  facts["bindings"] = std::move(binds);
  j["facts"] = std::move(facts);
  std::vector<uint8_t> bytes = json::to_cbor(j);
  return std::string(bytes.begin(), bytes.end());
}

bool decode_entry(std::string_view bytes, CacheEntry& out, std::string& why) {
  // from_cbor still throws for some inputs (an absurd array size) even with exceptions off.
  json j;
  try {
    j = json::from_cbor(bytes.begin(), bytes.end(), true, false);
  } catch (const std::exception& e) {
    why = std::string("not a CBOR document: ") + e.what();
    return false;
  }
  Dec d;
  auto done = [&](bool ok) {
    if (!ok) why = d.why.empty() ? "malformed entry" : d.why;
    return ok;
  };
  if (j.is_discarded() || !j.is_object()) return done(d.fail("not a CBOR object"));
  if (!j.contains("format") || j["format"] != "lockhound-scan-cache") return done(d.fail("not a lockhound scan cache entry"));
  if (!j.contains("version") || j["version"] != kCacheFormatVersion) return done(d.fail("written by another version"));
  for (const char* k : {"file", "flags", "content", "includes", "facts"})
    if (!j.contains(k)) return done(d.fail("missing field"));
  CacheEntry e;
  if (!d.str(j["file"], e.file) || !d.uint(j["flags"], e.flags_hash, UINT64_MAX) ||
      !d.uint(j["content"], e.content_hash, UINT64_MAX) || !j["includes"].is_array())
    return done(false);
  for (const auto& ij : j["includes"]) {
    CacheEntry::Include i;
    if (!d.arr(ij, 4) || !d.str(ij[0], i.path) || !d.uint(ij[1], i.size, UINT64_MAX) || !ij[2].is_number_integer() ||
        !d.uint(ij[3], i.hash, UINT64_MAX))
      return done(false);
    i.mtime = ij[2].get<int64_t>();
    e.includes.push_back(std::move(i));
  }
  const json& f = j["facts"];
  if (!f.is_object()) return done(d.fail("facts is not an object"));
  for (const char* k : {"main", "files", "functions", "registrations", "bindings"})
    if (!f.contains(k)) return done(d.fail("missing facts field"));
  TuFacts& t = e.facts;
  if (!d.str(f["main"], t.main_file) || !d.strs(f["files"], t.files) || !f["functions"].is_array() ||
      !f["registrations"].is_array() || !f["bindings"].is_array())
    return done(false);
  for (const auto& fj : f["functions"]) {
    FunctionFacts fn;
    if (!d.function(fj, fn)) return done(false);
    t.functions.push_back(std::move(fn));
  }
  for (const auto& rj : f["registrations"]) {
    Registration r;
    uint8_t c = 0, irqs = 0;
    if (!d.arr(rj, 8) || !d.str(rj[0], r.fn) || !d.uint(rj[1], c, 3) || !d.str(rj[2], r.object) || !d.str(rj[3], r.via) ||
        !d.str(rj[4], r.registrar) || !d.loc(rj[5], r.loc) || !d.uint(rj[6], irqs, 2) || !d.lock(rj[7], r.held))
      return done(false);
    r.context = RunContext(c);
    r.irqs = EntryIrq(irqs);
    t.registrations.push_back(std::move(r));
  }
  for (const auto& bj : f["bindings"]) {
    FieldBinding b;
    if (!d.arr(bj, 3) || !d.str(bj[0], b.field) || !d.str(bj[1], b.fn) || !d.str(bj[2], b.group)) return done(false);
    t.bindings.push_back(std::move(b));
  }
  // Every location must name a file of the entry.
  auto nfiles = uint32_t(t.files.size());
  for (const auto& fn : t.functions) {
    if (fn.loc.file >= nfiles) return done(d.fail("location outside the file table"));
    for (const auto& b : fn.blocks)
      for (const auto& o : b.ops)
        if (o.loc.file >= nfiles) return done(d.fail("location outside the file table"));
  }
  for (const auto& r : t.registrations)
    if (r.loc.file >= nfiles) return done(d.fail("location outside the file table"));
  out = std::move(e);
  return true;
}

}  // namespace lockhound::scan
