// The producer side of idempotence (ProducerOptions::idempotence_id): the
// producer id derived from the id, the claim that keeps an id to one live
// Producer per node, and the record sequence arithmetic. The partition side
// (the check and the state that survives restarts) is in
// src/log/producer_state.hpp.
//
// Design
// - producer id = XXH3-64 of the idempotence id with the sign bit cleared:
//   stable across processes and versions, never -1 ("no producer id").
//   Epoch 0: there is no fencing beyond the one-producer-per-id rule.
// - Each PartitionAccumulator holds the sequence its next batch starts
//   with (under its lock). It starts at the partition's next_sequence for
//   the producer id (0 for a memory partition) and moves on by the batch's
//   record count after each append that wrote it. After a failed append,
//   or a duplicate, it is read again from the partition, which knows what
//   it holds. Batches of one partition are appended one at a time under
//   the accumulator's lock, so a batch never overtakes an earlier one.
// - The claim is the broker's init_producer_id; a second claim of a live
//   id throws Error(already_exists). The directory lock
//   already keeps other processes away from a durable node.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "broker/broker.hpp"

namespace rill::client {

// The sequence of the record `index` places after a batch's base sequence
// (wrapping after INT32_MAX to 0); -1 when `base_sequence` is -1.
[[nodiscard]] std::int64_t record_sequence(std::int32_t base_sequence, std::uint32_t index) noexcept;

// Holds an idempotence id for one Producer (movable, released once).
class IdempotenceClaim {
 public:
  IdempotenceClaim() = default;
  // Empty `id`: holds nothing (a plain producer). Otherwise validates it
  // (Error(invalid_argument) naming ProducerOptions::idempotence_id) and
  // registers it with the node (Error(already_exists) when a live Producer
  // holds it).
  IdempotenceClaim(std::shared_ptr<broker::Broker> broker, const std::string& id);
  ~IdempotenceClaim() { release(); }
  IdempotenceClaim(IdempotenceClaim&& other) noexcept;
  IdempotenceClaim& operator=(IdempotenceClaim&& other) noexcept;
  IdempotenceClaim(const IdempotenceClaim&) = delete;
  IdempotenceClaim& operator=(const IdempotenceClaim&) = delete;

  // Lets another Producer take the id. The producer id stays readable.
  void release() noexcept;
  // -1 for a plain producer.
  [[nodiscard]] std::int64_t producer_id() const noexcept { return producer_id_; }
  [[nodiscard]] const std::string& id() const noexcept { return id_; }

 private:
  std::shared_ptr<broker::Broker> broker_;  // null once released
  std::string id_;
  std::int64_t producer_id_ = -1;
};

}  // namespace rill::client
