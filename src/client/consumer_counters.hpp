// ConsumerCounters: what a consumer counts (polls, records, bytes, losses)
// and, per assigned partition, a slot publishing its position, so that
// another thread (Node::metrics()) can compute the consumer's lag.
//
// Design
// - A consumer is used by one thread at a time; it is the only writer of
//   every counter and slot here. It adds with a relaxed load and a relaxed
//   store (no read-modify-write); collectors on other threads read with
//   relaxed loads. Relaxed throughout: no counter orders other memory.
// - Updated once per poll (add_poll) and once per fetch (add_fetch, and a
//   position store per assigned partition), never per record.
// - Slots: each AssignedPartition owns a SlotHandle; its deleter removes the
//   slot from the table under the table's mutex, so any change of the
//   assignment (which erases AssignedPartitions) keeps the table exact.
//   The table is shared (shared_ptr) by the counters and every handle, so a
//   handle may outlive the ConsumerCounters that made it.
// - A slot keeps its topic alive (shared_ptr), so a collector may read the
//   partition's end offset even after the topic was deleted.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rill/metrics.hpp"
#include "broker/broker.hpp"

namespace rill::client {

// One assigned partition as the collectors see it.
struct PartitionSlot {
  PartitionSlot(TopicPartition partition, std::shared_ptr<const broker::TopicRef> ref) noexcept
      : tp(std::move(partition)), topic(std::move(ref)) {}

  const TopicPartition tp;
  const std::shared_ptr<const broker::TopicRef> topic;
  // Written by the consumer's thread; read by collectors. Relaxed: values only.
  std::atomic<std::int64_t> position{0};
  std::atomic<std::uint64_t> records_lost{0};

  void publish_position(std::int64_t offset) noexcept {
    position.store(offset, std::memory_order_relaxed);  // relaxed: see the Design block
  }
  void add_lost(std::uint64_t records) noexcept {
    // relaxed: the consumer's thread is the only writer.
    records_lost.store(records_lost.load(std::memory_order_relaxed) + records, std::memory_order_relaxed);
  }
};

class ConsumerCounters {
  struct SlotTable {
    std::mutex mutex;  // guards slots
    std::vector<PartitionSlot*> slots;
  };

 public:
  // Removes its slot from the table and deletes it.
  struct SlotRelease {
    std::shared_ptr<SlotTable> table;
    void operator()(PartitionSlot* slot) const noexcept;
  };
  using SlotHandle = std::unique_ptr<PartitionSlot, SlotRelease>;

  ConsumerCounters();

  // A slot for a newly assigned partition, its position at `position`.
  [[nodiscard]] SlotHandle attach(const TopicPartition& tp, std::shared_ptr<const broker::TopicRef> topic,
                                  std::int64_t position);

  // Consumer's thread only.
  void add_poll() noexcept { bump(polls_, 1); }
  void add_fetch(std::uint64_t records, std::uint64_t bytes, std::uint64_t lost) noexcept {
    bump(records_polled_, records);
    bump(bytes_polled_, bytes);
    bump(records_lost_, lost);
  }

  // Counters, slots (positions, lag against the partitions' end now, as
  // `broker` lists it) and totals. Any thread.
  [[nodiscard]] ConsumerMetrics snapshot(const std::string& client_id, const std::string& group,
                                         broker::Broker& broker) const;

 private:
  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    // relaxed: a single writer (the consumer's thread), see the Design block.
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  std::atomic<std::uint64_t> polls_{0};
  std::atomic<std::uint64_t> records_polled_{0};
  std::atomic<std::uint64_t> bytes_polled_{0};
  std::atomic<std::uint64_t> records_lost_{0};
  std::shared_ptr<SlotTable> table_;
};

}  // namespace rill::client
