// PartitionCounters: the counters every partition keeps, whatever its
// storage kind; read into rill::PartitionMetrics (metrics.hpp).
//
// Design
// - The append counters (records, bytes, batches): a durable partition's
//   appender holds its writer mutex and adds with a relaxed load and a
//   relaxed store, no read-modify-write (the mutex orders one holder's
//   store before the next holder's load, and a reader only needs each value
//   to be atomic); a memory partition's appenders claim without a lock and
//   add with relaxed fetch_adds. Once per batch, never per record.
// - full_events and records_lost are counted by any thread (an appender
//   outside the exclusion, a consumer that met a loss) with a relaxed
//   fetch_add. Both are rare: a full partition, a loss event.
// - No counter orders other memory, so every access is relaxed.
// - The counters take their own pair of cache lines: a metrics reader never
//   pulls in a line holding ring positions, and the appender's stores never
//   share a line with a reader's hot state.
#pragma once

#include <atomic>
#include <cstdint>

#include "rill/detail/cache.hpp"
#include "rill/metrics.hpp"

namespace rill::storage {

struct alignas(detail::kFalseSharingRange) PartitionCounters {
  // Written by the append-exclusion holder (add_appended); read by any thread.
  std::atomic<std::uint64_t> records_appended{0};
  std::atomic<std::uint64_t> bytes_appended{0};
  std::atomic<std::uint64_t> batches_appended{0};
  // Written by any thread (fetch_add); read by any thread.
  std::atomic<std::uint64_t> full_events{0};
  std::atomic<std::uint64_t> records_lost{0};

  // One appended batch. Only under the partition's append exclusion.
  void add_appended(std::uint64_t records, std::uint64_t bytes) noexcept {
    // relaxed (all): single writer at a time, ordered by the exclusion;
    // the values order nothing else.
    records_appended.store(records_appended.load(std::memory_order_relaxed) + records,
                           std::memory_order_relaxed);
    bytes_appended.store(bytes_appended.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
    batches_appended.store(batches_appended.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // One appended batch, by appenders that may run at once (a memory
  // partition's lock-free claims): three relaxed fetch_adds, once per batch.
  void add_appended_concurrently(std::uint64_t records, std::uint64_t bytes) noexcept {
    // relaxed (all): counters; the values order nothing else.
    records_appended.fetch_add(records, std::memory_order_relaxed);
    bytes_appended.fetch_add(bytes, std::memory_order_relaxed);
    batches_appended.fetch_add(1, std::memory_order_relaxed);
  }
  // An append found the partition full. Any thread.
  void add_full_event() noexcept { full_events.fetch_add(1, std::memory_order_relaxed); }  // relaxed: a counter
  // A consumer lost `records` records of this partition. Any thread.
  void add_lost(std::uint64_t records) noexcept {
    records_lost.fetch_add(records, std::memory_order_relaxed);  // relaxed: a counter
  }

  void snapshot_into(PartitionCounts& out) const noexcept {
    // relaxed (all): a snapshot of independent counters (see metrics.hpp).
    out.records_appended = records_appended.load(std::memory_order_relaxed);
    out.bytes_appended = bytes_appended.load(std::memory_order_relaxed);
    out.batches_appended = batches_appended.load(std::memory_order_relaxed);
    out.full_events = full_events.load(std::memory_order_relaxed);
    out.records_lost = records_lost.load(std::memory_order_relaxed);
  }
};
static_assert(sizeof(PartitionCounters) == detail::kFalseSharingRange,
              "the partition counters fill exactly their own pair of cache lines");

}  // namespace rill::storage
