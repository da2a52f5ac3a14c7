// The partitioner: which partition a record goes to.
//
// - An explicit Record::partition wins (the caller checks its range).
// - A keyed record goes to XXH3-64(key) mod the partition count: the same key
//   always lands on the same partition while the count does not change.
// - A keyless record follows KeylessPartitioning: `sticky` stays on one
//   partition until that partition's batch is sent, then moves to the next
//   (Kafka's sticky partitioner: fuller batches, still spread over time);
//   `round_robin` moves on every record.
//
// Thread safety: KeylessPartitioner is shared by a producer's threads; its
// state is relaxed atomics (a racy choice of partition is harmless).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "rill/options.hpp"

namespace rill::client {

// The partition of a keyed record. `partitions` >= 1.
[[nodiscard]] inline std::int32_t partition_for_key(std::string_view key, std::int32_t partitions) noexcept {
  const std::uint64_t hash = XXH3_64bits(key.data(), key.size());
  return static_cast<std::int32_t>(hash % static_cast<std::uint64_t>(partitions));
}

class KeylessPartitioner {
 public:
  KeylessPartitioner(KeylessPartitioning mode, std::int32_t partitions, std::uint32_t seed) noexcept
      : mode_(mode), partitions_(partitions),
        sticky_(static_cast<std::int32_t>(seed % static_cast<std::uint32_t>(partitions))),
        next_(seed) {}

  // The partition for the next keyless record.
  [[nodiscard]] std::int32_t next() noexcept {
    if (mode_ == KeylessPartitioning::sticky) {
      return sticky_.load(std::memory_order_relaxed);  // relaxed: a hint, any value is valid
    }
    // relaxed: only the counter's atomicity matters.
    const std::uint32_t n = next_.fetch_add(1, std::memory_order_relaxed);
    return static_cast<std::int32_t>(n % static_cast<std::uint32_t>(partitions_));
  }

  // Tells the sticky partitioner that `partition`'s batch was sent: if it was
  // the sticky one, keyless records move to the next partition.
  void batch_sent(std::int32_t partition) noexcept {
    if (mode_ != KeylessPartitioning::sticky || partitions_ == 1) return;
    std::int32_t expected = partition;
    // relaxed: the sticky partition is a hint; only one mover should win.
    sticky_.compare_exchange_strong(expected, (partition + 1) % partitions_, std::memory_order_relaxed);
  }

  [[nodiscard]] KeylessPartitioning mode() const noexcept { return mode_; }

 private:
  const KeylessPartitioning mode_;
  const std::int32_t partitions_;
  std::atomic<std::int32_t> sticky_;
  std::atomic<std::uint32_t> next_;
};

}  // namespace rill::client
