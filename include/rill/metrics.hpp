// Metrics: what a node, its partitions, producers and consumers have done,
// as plain snapshot values (Node::metrics(), Producer::metrics(),
// Consumer::metrics()), and the same snapshot as Prometheus text
// (to_prometheus).
//
// Counting: every counter only grows, from 0 when the object that keeps it
// is made: a partition when its node creates or opens it (a durable topic's
// counters start again at 0 when the node is reopened), a producer or a
// consumer when it is built. Counters are kept per batch and per poll, with
// relaxed atomic operations, so that keeping them costs nothing measurable.
//
// Consistency: a snapshot reads its counters one by one while the counted
// work goes on. Each counter is exact on its own, but two counters of one
// snapshot may disagree by the batch or poll in progress (bytes_appended
// may already count a batch that records_appended does not yet). Once the
// work stops (producers flushed, consumers done polling), a snapshot is
// exact and consistent.
//
// Thread safety: the snapshot types are values with no link to the node.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rill/options.hpp"
#include "rill/topic.hpp"

namespace rill {

// A distribution of durations: how many, their sum and maximum, and how
// many fell at or below each of a few fixed bounds (for Prometheus).
struct LatencyHistogram {
  // Upper bounds of the buckets in nanoseconds: 10 us, 100 us, 1 ms,
  // 10 ms, 100 ms, 1 s. Durations above the last bound count only in `count`.
  static constexpr std::array<std::uint64_t, 6> kBoundsNs{10'000,     100'000,     1'000'000,
                                                          10'000'000, 100'000'000, 1'000'000'000};

  std::uint64_t count = 0;
  std::uint64_t sum_ns = 0;
  std::uint64_t max_ns = 0;
  // buckets[i]: durations <= kBoundsNs[i]. Cumulative, as Prometheus counts
  // them: buckets[i] <= buckets[i + 1] <= count.
  std::array<std::uint64_t, kBoundsNs.size()> buckets{};

  // Adds `other`'s durations to these (a topic sums its partitions).
  void merge(const LatencyHistogram& other) noexcept {
    count += other.count;
    sum_ns += other.sum_ns;
    max_ns = std::max(max_ns, other.max_ns);
    for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  }
};

// The counters of one partition (PartitionMetrics), or their sums over a
// topic's partitions (TopicMetrics).
struct PartitionCounts {
  // Appended batches, their records (offsets given out) and their encoded
  // bytes (batch headers included, as stored).
  std::uint64_t records_appended = 0;
  std::uint64_t bytes_appended = 0;
  std::uint64_t batches_appended = 0;
  // Appends that found a memory partition full: refused (FullPolicy::fail,
  // or any try_send) or made to wait (FullPolicy::block), one per append
  // however long it waited. Durable partitions are never full.
  std::uint64_t full_events = 0;
  // Records removed before a consumer read them: overwritten under
  // FullPolicy::overwrite, or deleted by retention under a lagging reader.
  // Each consumer reports what it lost (its LossEvents), so two consumers
  // that lost the same records count them twice.
  std::uint64_t records_lost = 0;

  // Durable partitions only; zero for memory partitions.
  // fdatasync rounds of the partition's segment files (per batch under
  // FsyncPolicy::every_batch, fewer when concurrent producers share one),
  // those that failed, and the duration of those that succeeded.
  std::uint64_t syncs = 0;
  std::uint64_t sync_failures = 0;
  LatencyHistogram sync_latency;
  // Cuts made by recovery when the node opened the partition: torn tails
  // removed, and damage repaired under NodeOptions::repair; and the bytes
  // those cuts zeroed.
  std::uint64_t truncations_at_recovery = 0;
  std::uint64_t bytes_truncated_at_recovery = 0;
};

// One partition: its counters and its retained window at the snapshot.
struct PartitionMetrics : PartitionCounts {
  std::int32_t partition = 0;
  std::int64_t start_offset = 0;
  std::int64_t end_offset = 0;
  std::size_t retained_bytes = 0;
};

// One topic: the sums of its partitions' counters (sync_latency merged),
// and each partition's own.
struct TopicMetrics : PartitionCounts {
  std::string name;
  StorageKind storage = StorageKind::memory;
  std::vector<PartitionMetrics> partitions;  // index i is partition i
};

// Batches a producer's appends were refused, by reason.
struct SendErrorCounts {
  std::uint64_t full = 0;       // the partition was full (FullPolicy::fail, or a try_send)
  std::uint64_t timed_out = 0;  // FullPolicy::block waited block_timeout in vain
  std::uint64_t too_large = 0;  // the partition can never take the batch
  std::uint64_t failed = 0;     // the storage failed (an I/O error) or the topic was deleted
};

struct ProducerMetrics {
  // ProducerOptions::client_id, or "producer-N" (N counts the node's producers from 1).
  std::string client_id;
  // Batches the partitions took, their records and encoded bytes (the
  // partitions' bytes_appended count the same bytes).
  std::uint64_t records_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t batches_sent = 0;
  // Appends refused, one per batch (a try_send refused for lack of room
  // counts one `full`, though the record stays with the caller).
  SendErrorCounts send_errors;
  // Now, not a counter: records accepted into batches that are not
  // appended yet (linger > 0, or a try_send batch waiting for room).
  std::uint64_t records_in_open_batches = 0;
};

// A consumer's view of one assigned partition.
struct ConsumerPartitionMetrics {
  TopicPartition partition;
  std::int64_t position = 0;    // the next offset poll() returns
  std::int64_t end_offset = 0;  // the partition's end at the snapshot
  std::int64_t lag = 0;         // end_offset - position, never below 0
  std::uint64_t records_lost = 0;  // lost on this partition since it was assigned
};

struct ConsumerMetrics {
  // ConsumerOptions::client_id, or "consumer-N" (N counts the node's consumers from 1).
  std::string client_id;
  std::string group;  // ConsumerOptions::group ("" without a group)
  std::uint64_t polls = 0;           // poll() calls, with or without records
  std::uint64_t records_polled = 0;  // records poll() returned
  std::uint64_t bytes_polled = 0;    // key + value bytes of those records
  std::uint64_t records_lost = 0;    // the sum of the LossEvents poll() reported
  // The assigned partitions, sorted, and the sum of their lag. From
  // Consumer::metrics() positions are exact; from Node::metrics() (another
  // thread) they are as of the consumer's last poll, assignment or metrics().
  std::int64_t lag = 0;
  std::vector<ConsumerPartitionMetrics> partitions;
};

// Everything a node counts. Producers and consumers appear while they live.
struct NodeMetrics {
  std::vector<TopicMetrics> topics;        // sorted by name
  std::vector<ProducerMetrics> producers;  // in the order they were built
  std::vector<ConsumerMetrics> consumers;  // in the order they were built
};

// The snapshot in the Prometheus text exposition format (version 0.0.4):
// for each metric a "# HELP" and a "# TYPE" line, then its samples, e.g.
//   rill_partition_records_appended_total{topic="orders",partition="0"} 1200
// Partition metrics are labelled by topic and partition, producer and
// consumer metrics by client_id (consumer lag also by topic and partition);
// sync durations are a histogram in seconds (_bucket{le=...}, _sum, _count),
// for durable partitions only. Label values are escaped (\\, \", \n). Give
// producers and consumers distinct client ids: two with one id would give
// samples that Prometheus cannot tell apart. Allocates; never throws but
// std::bad_alloc.
[[nodiscard]] std::string to_prometheus(const NodeMetrics& metrics);

}  // namespace rill
