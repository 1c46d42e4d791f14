#include "core/waitfor.h"

#include <algorithm>

namespace lockhound {

void WaitForGraph::add_party(uint64_t party, std::string label) { parties_[party] = std::move(label); }
void WaitForGraph::add_resource(uint64_t resource, std::string label) {
  resources_[resource] = std::move(label);
}
void WaitForGraph::add_wait(uint64_t party, uint64_t resource) { waits_for_[party] = resource; }
void WaitForGraph::add_owner(uint64_t resource, uint64_t party) {
  auto& v = owners_[resource];
  if (std::find(v.begin(), v.end(), party) == v.end()) v.push_back(party);
}

const std::string& WaitForGraph::party_label(uint64_t party) const {
  auto it = parties_.find(party);
  return it == parties_.end() ? unknown_ : it->second;
}
const std::string& WaitForGraph::resource_label(uint64_t resource) const {
  auto it = resources_.find(resource);
  return it == resources_.end() ? unknown_ : it->second;
}

// A party waits for one resource; a resource may have several owners. Elementary cycles in this
// graph are found by a DFS from each party that only visits parties with a larger id than the
// start (Johnson-style restriction), so each cycle is reported once, from its smallest party.
std::vector<WaitForGraph::Cycle> WaitForGraph::cycles() const {
  std::vector<uint64_t> starts;
  starts.reserve(waits_for_.size());
  for (const auto& [p, r] : waits_for_) starts.push_back(p);
  std::sort(starts.begin(), starts.end());

  std::vector<Cycle> out;
  for (uint64_t start : starts) {
    Cycle path;
    std::vector<uint64_t> on_path;
    // Iterative DFS: frames of (party, index of next owner to try).
    struct FrameState { uint64_t party; size_t next = 0; };
    std::vector<FrameState> stack{{start}};
    on_path.push_back(start);
    while (!stack.empty()) {
      auto& top = stack.back();
      auto w = waits_for_.find(top.party);
      const std::vector<uint64_t>* owners = nullptr;
      if (w != waits_for_.end()) {
        auto o = owners_.find(w->second);
        if (o != owners_.end()) owners = &o->second;
      }
      if (!owners || top.next >= owners->size()) {
        stack.pop_back();
        on_path.pop_back();
        if (!path.empty()) path.pop_back();
        continue;
      }
      uint64_t owner = (*owners)[top.next++];
      uint64_t resource = w->second;
      if (owner == start) {
        Cycle c = path;
        c.push_back({top.party, resource});
        out.push_back(std::move(c));
        continue;
      }
      if (owner < start || std::find(on_path.begin(), on_path.end(), owner) != on_path.end())
        continue;
      path.push_back({top.party, resource});
      on_path.push_back(owner);
      stack.push_back({owner});
    }
  }
  return out;
}

std::vector<WaitForGraph::Wait> WaitForGraph::waits() const {
  std::vector<Wait> out;
  for (const auto& [p, r] : waits_for_) {
    Wait w{p, r, {}};
    auto o = owners_.find(r);
    if (o != owners_.end()) w.owners = o->second;
    out.push_back(std::move(w));
  }
  std::sort(out.begin(), out.end(), [](const Wait& a, const Wait& b) { return a.party < b.party; });
  return out;
}

}  // namespace lockhound
