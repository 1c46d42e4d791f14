// WaitForGraph: who waits for what, and the actual deadlock cycles that follow.
//
// The runtime's watchdog, `lockhound attach`, `lockhound sys` (/proc/locks) and `explain`'s
// hung-task analysis all describe a hang the same way: waiters blocked on resources, resources
// owned by holders. A cycle waiter -> resource -> owner -> resource -> … -> waiter is a deadlock
// that has really happened (not a possible one). This class finds every such cycle.
//
// Waiters and owners are "parties" (threads, tasks, processes) named by a 64-bit id and a label;
// resources (locks, files, byte ranges) likewise. A resource may have several owners (readers,
// overlapping record locks) and a party may wait for one resource at a time. No I/O, no limits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

namespace lockhound {

class WaitForGraph {
 public:
  // Declares (or renames) a party / a resource; ids are the caller's.
  void add_party(uint64_t party, std::string label);
  void add_resource(uint64_t resource, std::string label);
  // `party` is blocked waiting for `resource`.
  void add_wait(uint64_t party, uint64_t resource);
  // `party` holds `resource`.
  void add_owner(uint64_t resource, uint64_t party);

  struct Step {
    uint64_t party;     // this party …
    uint64_t resource;  // … waits for this resource, owned by the next step's party
  };
  using Cycle = std::vector<Step>;

  // Every elementary cycle, each once, starting from its smallest party id; deterministic order.
  std::vector<Cycle> cycles() const;
  // Parties waiting (directly or through others) on a party that is not itself waiting: the
  // "who waits for whom" view when there is no cycle. Each entry: waiter, resource, owner.
  struct Wait { uint64_t party, resource; std::vector<uint64_t> owners; };
  std::vector<Wait> waits() const;

  const std::string& party_label(uint64_t party) const;
  const std::string& resource_label(uint64_t resource) const;

 private:
  absl::flat_hash_map<uint64_t, std::string> parties_, resources_;
  absl::flat_hash_map<uint64_t, uint64_t> waits_for_;                 // party -> resource
  absl::flat_hash_map<uint64_t, std::vector<uint64_t>> owners_;       // resource -> parties
  std::string unknown_ = "?";
};

}  // namespace lockhound
