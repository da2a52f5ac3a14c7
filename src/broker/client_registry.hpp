// ClientRegistry: the node's list of live producers and consumers, so that
// Node::metrics() can ask each for its counters.
//
// Design
// - The registry does not own its clients. A client registers a function
//   that snapshots its metrics and keeps the returned Registration; the
//   Registration's destructor removes the entry. A client declares its
//   Registration as its last member, so the entry is gone before any member
//   the function reads is destroyed.
// - One mutex guards the entries. collect() holds it while it calls the
//   functions, so a client being destroyed waits in ~Registration until a
//   collect in progress is done with it. A snapshot function must therefore
//   never wait for the client's own threads while they could be registering
//   or unregistering (none do: they register in constructors and unregister
//   in destructors, and Node::metrics() is not called under a client lock).
// - Default names ("producer-N", "consumer-N") are numbered per node, from 1,
//   in the order clients are built; a client_id given in the options is used
//   as is.
// - The registry lives in the LocalBroker, which every client keeps alive through
//   its shared_ptr (declared before the Registration), so a Registration's
//   pointer to it never dangles.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "rill/metrics.hpp"

namespace rill::broker {

class ClientRegistry {
 public:
  using ProducerSource = std::function<ProducerMetrics()>;
  using ConsumerSource = std::function<ConsumerMetrics()>;

  // Removes its entry when destroyed (or reset). Move-only.
  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() { reset(); }
    void reset() noexcept;

   private:
    friend class ClientRegistry;
    Registration(ClientRegistry* registry, std::uint64_t id) noexcept : registry_(registry), id_(id) {}
    ClientRegistry* registry_ = nullptr;
    std::uint64_t id_ = 0;
  };

  // `requested` if not empty, else the next "producer-N" / "consumer-N".
  [[nodiscard]] std::string producer_name(std::string_view requested);
  [[nodiscard]] std::string consumer_name(std::string_view requested);

  [[nodiscard]] Registration add(ProducerSource source);
  [[nodiscard]] Registration add(ConsumerSource source);

  // Appends every live client's snapshot to out.producers / out.consumers,
  // in registration order.
  void collect(NodeMetrics& out) const;

 private:
  void remove(std::uint64_t id) noexcept;

  mutable std::mutex mutex_;  // guards everything below
  std::uint64_t next_id_ = 1;
  std::uint64_t producers_named_ = 0;
  std::uint64_t consumers_named_ = 0;
  std::map<std::uint64_t, ProducerSource> producers_;  // by id: registration order
  std::map<std::uint64_t, ConsumerSource> consumers_;
};

}  // namespace rill::broker
