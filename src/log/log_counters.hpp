// LogCounters: what a durable partition's log counts about itself: its
// syncs (with their durations) and the cuts recovery made when it opened.
// Read into rill::PartitionMetrics by the topic layer.
//
// Design
// - Syncs are counted where they happen, in SegmentLog::sync_active (the
//   writer's sync) and complete_sync (group commit, on any thread), so two
//   threads may count at once: every update is a relaxed fetch_add (or a
//   relaxed CAS loop for the maximum). Relaxed, because a counter orders
//   nothing: no reader draws conclusions about other memory from it.
// - A sync costs an fdatasync (tens of microseconds at best); the few
//   atomic adds here are noise beside it.
// - Recovery counts run while the log opens, before any reader exists.
// - The histogram keeps one non-cumulative count per bucket; snapshot()
//   turns them into Prometheus' cumulative form.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "rill/metrics.hpp"

namespace rill::log {

// A LatencyHistogram that many threads may add to at once.
class AtomicLatencyHistogram {
 public:
  void add(std::chrono::nanoseconds duration) noexcept {
    const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count()));
    // relaxed (all four): independent counters, see the Design block.
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns, std::memory_order_relaxed);
    std::uint64_t seen = max_ns_.load(std::memory_order_relaxed);
    while (seen < ns && !max_ns_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
    for (std::size_t i = 0; i < kBuckets; ++i) {
      if (ns <= LatencyHistogram::kBoundsNs[i]) {
        buckets_[i].fetch_add(1, std::memory_order_relaxed);
        break;
      }
    }
  }

  [[nodiscard]] LatencyHistogram snapshot() const noexcept {
    LatencyHistogram h;
    // relaxed (all): a snapshot of independent counters; see metrics.hpp
    // on consistency.
    std::uint64_t below = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      below += buckets_[i].load(std::memory_order_relaxed);
      h.buckets[i] = below;
    }
    h.sum_ns = sum_ns_.load(std::memory_order_relaxed);
    h.max_ns = max_ns_.load(std::memory_order_relaxed);
    // Read after the buckets and never below their sum, so that the
    // snapshot keeps buckets[i] <= count even while syncs are counted.
    h.count = std::max(below, count_.load(std::memory_order_relaxed));
    return h;
  }

 private:
  static constexpr std::size_t kBuckets = LatencyHistogram::kBoundsNs.size();
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> max_ns_{0};
  std::atomic<std::uint64_t> buckets_[kBuckets]{};
};

class LogCounters {
 public:
  using Clock = std::chrono::steady_clock;

  // A sync that succeeded after `duration`. Any thread.
  void add_sync(Clock::duration duration) noexcept {
    syncs_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter
    sync_latency_.add(std::chrono::duration_cast<std::chrono::nanoseconds>(duration));
  }
  // A sync that failed. Any thread.
  void add_sync_failure() noexcept {
    sync_failures_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter
  }
  // Recovery cut the log, zeroing `bytes` bytes (0 when only later, empty
  // segments went). Only while the log opens.
  void add_truncation(std::size_t bytes) noexcept {
    // relaxed (both): counters.
    truncations_.fetch_add(1, std::memory_order_relaxed);
    bytes_truncated_.fetch_add(bytes, std::memory_order_relaxed);
  }

  // Fills the durable-only fields of `out`. Any thread.
  void snapshot_into(PartitionCounts& out) const noexcept {
    // relaxed (all): a snapshot of independent counters.
    out.syncs = syncs_.load(std::memory_order_relaxed);
    out.sync_failures = sync_failures_.load(std::memory_order_relaxed);
    out.sync_latency = sync_latency_.snapshot();
    out.truncations_at_recovery = truncations_.load(std::memory_order_relaxed);
    out.bytes_truncated_at_recovery = bytes_truncated_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> syncs_{0};
  std::atomic<std::uint64_t> sync_failures_{0};
  AtomicLatencyHistogram sync_latency_;
  std::atomic<std::uint64_t> truncations_{0};
  std::atomic<std::uint64_t> bytes_truncated_{0};
};

}  // namespace rill::log
