// ProducerCounters: what one partition accumulator of a producer counts;
// ProducerImpl::metrics() sums them over its accumulators into
// rill::ProducerMetrics.
//
// Design
// - Kept per accumulator, not per producer: every write happens under the
//   accumulator's base::SpinLock, so a writer adds with a relaxed load and a
//   relaxed store (no read-modify-write, no line shared between threads
//   that send to different partitions). The lock's acquire/release orders
//   one holder's store before the next holder's load; a metrics reader on
//   another thread only needs each value to be atomic, hence relaxed loads.
// - Counted once per batch (add_batch), except open_records, a gauge of the
//   open batch's record count, stored once per accepted record: the builder
//   already holds that count, copying it is one plain store to a line the
//   sender owns.
// - No counter orders other memory: every access is relaxed.
#pragma once

#include <atomic>
#include <cstdint>

#include "rill/metrics.hpp"
#include "broker/broker.hpp"

namespace rill::client {

struct ProducerCounters {
  // All written under the accumulator's lock; read by any thread.
  std::atomic<std::uint64_t> records_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> batches_sent{0};
  std::atomic<std::uint64_t> refused_full{0};
  std::atomic<std::uint64_t> refused_timed_out{0};
  std::atomic<std::uint64_t> refused_too_large{0};
  std::atomic<std::uint64_t> refused_failed{0};
  std::atomic<std::uint32_t> open_records{0};

  // The partition answered `status` to a batch of `records` records and
  // `bytes` bytes. Under the accumulator's lock.
  void add_batch(broker::ProduceStatus status, std::uint64_t records, std::uint64_t bytes) noexcept {
    switch (status) {
      case broker::ProduceStatus::ok:
        bump(records_sent, records);
        bump(bytes_sent, bytes);
        bump(batches_sent, 1);
        return;
      case broker::ProduceStatus::full: bump(refused_full, 1); return;
      case broker::ProduceStatus::timed_out: bump(refused_timed_out, 1); return;
      case broker::ProduceStatus::too_large: bump(refused_too_large, 1); return;
      case broker::ProduceStatus::failed: bump(refused_failed, 1); return;
    }
  }
  // The open batch now holds `records` records. Under the accumulator's lock.
  void set_open_records(std::uint32_t records) noexcept {
    open_records.store(records, std::memory_order_relaxed);  // relaxed: a gauge, orders nothing
  }

  // Adds these counts to `out`. Any thread.
  void add_into(ProducerMetrics& out) const noexcept {
    // relaxed (all): a snapshot of independent counters (see metrics.hpp).
    out.records_sent += records_sent.load(std::memory_order_relaxed);
    out.bytes_sent += bytes_sent.load(std::memory_order_relaxed);
    out.batches_sent += batches_sent.load(std::memory_order_relaxed);
    out.send_errors.full += refused_full.load(std::memory_order_relaxed);
    out.send_errors.timed_out += refused_timed_out.load(std::memory_order_relaxed);
    out.send_errors.too_large += refused_too_large.load(std::memory_order_relaxed);
    out.send_errors.failed += refused_failed.load(std::memory_order_relaxed);
    out.records_in_open_batches += open_records.load(std::memory_order_relaxed);
  }

 private:
  static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    // relaxed: one writer at a time (the lock holder), see the Design block.
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

}  // namespace rill::client
