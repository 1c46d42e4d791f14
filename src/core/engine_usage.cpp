// Interrupt usage (lockdep's usage bits and its rules on one class and across dependencies) and
// wait contexts (a sleeping lock or call where sleeping is not allowed).
#include "core/engine.h"

namespace lockhound {

// ---------------------------------------------------------------- usage
[[gnu::noinline]] void Validator::Impl::mark_usage(ContextState* ctx, HeldEntry& h, uint32_t want) {
  ClassInfo& c = classes[h.cls];
  uint32_t missing = want & ~c.usage;
  if (uint32_t rep = want & c.conflict) {
    for (auto& [bit, fi] : conflict_findings[h.cls])
      if (rep & (1u << bit)) {
        count_on_path(fi, h.chain_key);
        ++report_events;
      }
  }
  if (!missing) return;
  capture_held(ctx, h);
  // One record for every bit this acquisition sets (a class's first acquisition sets one per
  // interrupt kind, all with the same evidence).
  EvidenceId ev = intern_evidence(evidence(ctx, h.site, h.mode, h.trylock, false));
  if (!c.first_usage_bits) {
    c.first_usage_bits = uint16_t(missing);
    c.first_usage_ev = ev;
  } else {
    usage_pool.push_back(UsageLink{uint16_t(missing), ev, c.usage_head});
    c.usage_head = uint32_t(usage_pool.size() - 1);
  }
  for (unsigned bit = 0; bit < 12; ++bit)
    if (missing & (1u << bit)) set_usage(ctx, h, bit);
}

void Validator::Impl::set_usage(ContextState* ctx, const HeldEntry& h, unsigned bit) {
  ClassId cls = h.cls;
  classes[cls].usage |= 1u << bit;
  int k = int(bit / 4);
  bool enabled_dir = bit & kDirBit, read = bit & kReadBit;
  if (!enabled_dir) {
    // The first USED_IN_k bit of this class makes it k-safe.
    uint32_t used_k = classes[cls].usage & (3u << (4 * k));
    if (used_k == (1u << bit)) used_in_classes[k]++;
  }
  // Single-lock rule (lockdep's valid_state): the opposite direction, and for a write usage
  // also the opposite read usage.
  unsigned excl = unsigned(k) * 4 + (enabled_dir ? 0 : kDirBit);
  uint32_t conflict_bits = 1u << excl;
  if (!read) conflict_bits |= 1u << (excl + kReadBit);
  if (uint32_t cb = classes[cls].usage & conflict_bits) {
    unsigned prev_bit = (cb & (1u << excl)) ? excl : excl + kReadBit;
    report_inconsistent(ctx, h, prev_bit, bit);
    return;
  }
  // Graph rule: a USED_IN lock must not reach an ENABLED lock, and vice versa backwards.
  if (!enabled_dir) {
    uint32_t target = (1u << excl) | (1u << (excl + kReadBit));
    bool root_xr = h.mode == Mode::recursive_read;
    uint32_t hit = find_usage(cls, root_xr, /*forward=*/true, target);
    if (hit != UINT32_MAX) report_irq_inversion(ctx, h, bit, hit, /*forward=*/true);
  } else if (used_in_classes[k]) {
    uint32_t target = (1u << excl) | (1u << (excl + kReadBit));
    bool root_xr = h.mode != Mode::write;
    uint32_t hit = find_usage(cls, root_xr, /*forward=*/false, target);
    if (hit != UINT32_MAX) report_irq_inversion(ctx, h, bit, hit, /*forward=*/false);
  }
}

// lockdep's check_irq_usage for a new edge prev -> next: something irq-safe behind prev must
// not reach something irq-unsafe ahead of next.
void Validator::Impl::check_irq_usage(ContextState* ctx, const HeldEntry& prev, const HeldEntry& next, uint32_t ei) {
  if (!used_in_classes[0] && !used_in_classes[1] && !used_in_classes[2]) return;
  uint32_t used = accumulate_backward(prev.cls, prev.mode != Mode::write) & kUsedInAll;
  if (!used) return;
  uint32_t fwd_mask = used << kDirBit;  // USED_IN_k(_READ) -> ENABLED_k(_READ)
  uint32_t hit = find_usage(next.cls, next.mode == Mode::recursive_read, true, fwd_mask, true);
  if (hit == UINT32_MAX) return;
  std::vector<uint32_t> fwd_path = path_edges(hit);
  ClassId unsafe = nodes[hit].cls;
  uint32_t unsafe_bits = classes[unsafe].usage & fwd_mask;
  // Which interrupt kind, and which safe lock behind prev.
  for (int k = 0; k < kIrqKinds; ++k) {
    uint32_t en_k = unsafe_bits & (0xcu << (4 * k));
    if (!en_k) continue;
    uint32_t safe_mask = (en_k >> kDirBit) | (3u << (4 * k));
    safe_mask &= used;
    uint32_t shit = find_usage_or_self(prev.cls, prev.mode != Mode::write, safe_mask);
    if (shit == UINT32_MAX) continue;
    std::vector<uint32_t> back_path = path_edges(shit);  // prev <- … <- safe, as edges
    ClassId safe = nodes[shit].cls;
    std::reverse(back_path.begin(), back_path.end());
    std::vector<uint32_t> chain = back_path;
    chain.push_back(ei);
    chain.insert(chain.end(), fwd_path.begin(), fwd_path.end());
    report_safe_unsafe(ctx, Irq(k), safe, unsafe, chain, prev, next);
    return;
  }
}

// Why this context must not sleep ("" when it may), and the innermost spinning lock held.
std::string Validator::Impl::atomic_reason(const ContextState* ctx, ClassId& spinning) const {
  spinning = kNoClass;
  if (ctx->depth[0]) return "in hardirq context";
  if (ctx->depth[1]) return "in softirq context";
  if (ctx->spin_held) {
    for (auto it = ctx->held.rbegin(); it != ctx->held.rend(); ++it)
      if (classes[it->cls].wait == WaitType::spin) {
        spinning = it->cls;
        return "while holding the spinning lock " + name_of(spinning);
      }
  }
  if (!ctx->enabled[0]) return "with interrupts disabled";
  return "";
}

// A sleeping lock taken where sleeping is not allowed: lockdep's invalid wait context under a
// spinning lock or in interrupt context; with only interrupts disabled it is the kernel's
// might_sleep report (mutex_lock() calls might_sleep() first).
[[gnu::noinline]] void Validator::Impl::check_wait_context(ContextState* ctx, ClassId cls, const Site& site) {
  ClassId spinning;
  std::string reason = atomic_reason(ctx, spinning);
  if (reason.empty()) return;
  FindingType type = ctx->depth[0] || ctx->depth[1] || spinning != kNoClass
                         ? FindingType::invalid_wait_context
                         : FindingType::sleeping_in_invalid_context;
  report_wait(ctx, type, cls, spinning, reason, site, name_of(cls));
}

void Validator::Impl::might_sleep(ContextState* ctx, const Site& site, std::string_view what) {
  if (may_sleep(ctx)) {
    if (opt.report_blocking_under_lock)
      for (auto it = ctx->held.rbegin(); it != ctx->held.rend(); ++it) {
        LockKind k = classes[it->cls].kind;
        if (k != LockKind::pthread_mutex && k != LockKind::pthread_rwlock) continue;
        report_wait(ctx, FindingType::blocking_call_under_lock, kNoClass, it->cls, "while holding " + name_of(it->cls),
                    site, std::string(what));
        break;
      }
    return;
  }
  ClassId spinning;
  std::string reason = atomic_reason(ctx, spinning);
  if (reason.empty()) return;
  report_wait(ctx, FindingType::sleeping_in_invalid_context, kNoClass, spinning, reason, site,
              std::string(what));
}

}  // namespace lockhound
