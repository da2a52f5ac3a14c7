// Options of rill's topics, producers and consumers: plain aggregates with
// documented defaults, meant for designated initialisers:
//
//   node.create_topic("orders", {.partitions = 4, .full_policy = rill::FullPolicy::fail});
//   rill::Producer producer(node, {.linger = std::chrono::microseconds(100)});
//   rill::Consumer consumer(node, {.group = "billing", .auto_offset_reset = rill::OffsetReset::earliest});
//
// Every options struct is validated once, where it is used (create_topic, the
// Producer and Consumer constructors); a bad value throws
// rill::Error(invalid_argument) whose message names the field and its limits.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace rill {

// Where a topic's partitions keep their records.
enum class StorageKind {
  memory,   // a bounded in-memory log per partition: fastest, lost on exit
  durable,  // segment files in the node's directory (not available on an in-memory node)
};

// What an append does when a memory partition has no room for a batch.
enum class FullPolicy {
  block,      // the producer waits (up to block_timeout) until the slowest reader moves on
  fail,       // never waits: try_send returns SendStatus::full, a send's future throws Error(full)
  overwrite,  // lossy: the oldest records are overwritten; a lagging reader is told how many it lost
};

constexpr const char* to_string(FullPolicy policy) noexcept {
  switch (policy) {
    case FullPolicy::block: return "block";
    case FullPolicy::fail: return "fail";
    case FullPolicy::overwrite: return "overwrite";
  }
  return "unknown";
}

// When a durable partition forces its appended batches to disk (fsync).
enum class FsyncPolicy {
  none,         // never: the page cache holds them; survives a process crash, not a power loss
  interval,     // a record is synced within about fsync_interval of its append: by the first
                // append after the interval, or by the node's timer thread when idle
  every_batch,  // before the append returns: survives a power loss; RecordMetadata::durable is
                // true. Concurrent producers share one sync (group commit)
};

constexpr const char* to_string(FsyncPolicy policy) noexcept {
  switch (policy) {
    case FsyncPolicy::none: return "none";
    case FsyncPolicy::interval: return "interval";
    case FsyncPolicy::every_batch: return "every_batch";
  }
  return "unknown";
}

// What happens to a durable topic's old records (Kafka's cleanup.policy).
enum class CleanupPolicy {
  retention,  // closed segments are deleted whole by retention_bytes / retention_ms ("delete")
  compact,    // closed segments keep only the newest record per key; a tombstone (null
              // value) is removed tombstone_retention after its timestamp. Retention
              // limits, when set, still delete whole segments ("compact,delete")
};

constexpr const char* to_string(CleanupPolicy policy) noexcept {
  switch (policy) {
    case CleanupPolicy::retention: return "delete";
    case CleanupPolicy::compact: return "compact";
  }
  return "unknown";
}

// How a topic is laid out. Limits checked by Node::create_topic:
// 1 <= partitions <= kMaxPartitions; capacity_bytes >= kMinCapacityBytes and
// large enough to hold two of the largest batches (2 * (max_record_bytes + 128));
// max_record_bytes == 0 or >= 64; block_timeout >= 0. For StorageKind::durable
// capacity_bytes is not used; instead segment_bytes is a multiple of 4096
// between kMinSegmentBytes and kMaxSegmentBytes and holds two of the largest
// batches; full_policy is not overwrite; fsync_interval > 0 under
// FsyncPolicy::interval; retention_ms >= 0; tombstone_retention >= 0.
struct TopicOptions {
  static constexpr std::int32_t kMaxPartitions = 4096;
  static constexpr std::size_t kMinCapacityBytes = 64 * 1024;
  static constexpr std::size_t kMinSegmentBytes = 64 * 1024;
  static constexpr std::size_t kMaxSegmentBytes = std::size_t{1} << 30;

  // Number of partitions (the unit of order and of parallelism).
  std::int32_t partitions = 1;
  // Bytes of records each partition retains (memory storage); the partition
  // holds the newest records that fit. Memory use per partition is this plus
  // a fixed-size offset index (about capacity_bytes / 256). Under
  // FullPolicy::overwrite each consumer of a partition also keeps a copy
  // buffer of capacity_bytes / 2 (the ring may be overwritten under it).
  std::size_t capacity_bytes = 8 * 1024 * 1024;
  // What happens when a partition is full (see FullPolicy).
  FullPolicy full_policy = FullPolicy::block;
  // How long a producer waits under FullPolicy::block before its send fails
  // with ErrorCode::timeout.
  std::chrono::milliseconds block_timeout{30'000};
  // The largest record accepted, in encoded bytes (key + value + headers +
  // at most 40 bytes of framing). Larger records are rejected with
  // ErrorCode::record_too_large. 0 (the default) means the largest that
  // fits: min(1 MiB, capacity_bytes / 2 - 128); describe_topic shows the
  // value in force.
  std::size_t max_record_bytes = 0;
  // Where records live. Only StorageKind::memory exists on an in-memory node.
  StorageKind storage = StorageKind::memory;

  // Durable storage only (ignored by memory topics).
  // Size of each segment file of a partition. A segment is preallocated on
  // disk at this size when created, so an empty partition takes this much.
  // 0 (the default) lets the node choose 64 MiB. max_record_bytes == 0 means
  // min(1 MiB, segment_bytes / 2 - 128) here.
  std::size_t segment_bytes = 0;
  // Retention: closed segments are deleted, oldest first, while the
  // partition holds more than retention_bytes (0: no size limit) or their
  // newest record is older than retention_ms (0: no age limit). Checked on
  // append, so whole segments go at once and the active one always stays.
  std::uint64_t retention_bytes = 0;
  std::chrono::milliseconds retention_ms{0};
  // When appended batches are forced to disk (see FsyncPolicy).
  FsyncPolicy fsync = FsyncPolicy::none;
  // For FsyncPolicy::interval: about the longest an appended record stays
  // unsynced (plus the time of the sync itself).
  std::chrono::milliseconds fsync_interval{1000};
  // What happens to old records (see CleanupPolicy).
  CleanupPolicy cleanup = CleanupPolicy::retention;
  // Under CleanupPolicy::compact: how long a tombstone stays after its
  // timestamp before compaction removes it, so that consumers that lag by
  // less see the deletion (Kafka's delete.retention.ms). >= 0.
  std::chrono::milliseconds tombstone_retention{24 * 60 * 60 * 1000};
};

// Settings of a node opened on a directory (Node::open).
struct NodeOptions {
  // Create the directory (and its parents) when it does not exist; when
  // false, a missing directory is Error(not_found).
  bool create_if_missing = true;
  // Recovery of a partition that finds damage followed by valid data (not a
  // torn tail, which is always cut) refuses to open with Error(corrupt)
  // unless this is true; then it keeps a "<segment>.log.damaged" copy, cuts
  // the log at the damage, and writes a line to stderr.
  bool repair = false;
};

// Where a record without key and without explicit partition goes.
enum class KeylessPartitioning {
  sticky,       // stay on one partition until its batch is sent, then move (Kafka's default)
  round_robin,  // each keyless record on the next partition in turn
};

// Producer settings. Limits checked by the Producer constructor:
// 128 <= batch_bytes <= 64 MiB; linger >= 0; idempotence_id empty or a
// valid topic name.
struct ProducerOptions {
  // A partition's batch is appended once it holds this many bytes (a single
  // record larger than this travels alone in its own batch).
  std::size_t batch_bytes = 16 * 1024;
  // 0: every send appends its record at once (the future is ready when send
  // returns). > 0: a batch waits up to this long for more records; a
  // background timer, flush(), or get() on one of its futures sends it.
  std::chrono::microseconds linger{0};
  KeylessPartitioning keyless = KeylessPartitioning::sticky;
  // The producer's name in Node::metrics() and in Prometheus labels; empty
  // (the default) means "producer-N", N counting the node's producers from 1.
  std::string client_id{};
  // Empty (the default): a plain producer. Otherwise the producer is
  // idempotent: every batch carries a producer id derived from this name
  // and per-partition sequence numbers, and a durable partition writes a
  // resent batch only once (see Producer). Follows the topic-name rule;
  // at most one live Producer per id on a node.
  std::string idempotence_id{};
};

// Where a consumer starts on a partition that its group never committed
// (Kafka's auto.offset.reset).
enum class OffsetReset {
  earliest,  // the oldest retained record
  latest,    // the end: only records appended after the assignment (Kafka's default)
};

// How a group divides the partitions of its topics among its members.
enum class AssignmentStrategy {
  range,        // per topic, contiguous ranges of partitions to members sorted by id
  round_robin,  // all topic-partitions, sorted, dealt to members in turn
  cooperative_sticky,  // balanced like round_robin, but a member keeps what it had where it can
};

// How poll() waits when there is nothing to read.
enum class ConsumerWait {
  blocking,        // spin briefly, then sleep until an append wakes us (default)
  spin_then_yield, // never sleeps: yields the CPU between checks
  busy_spin,       // never yields: lowest latency, burns a core
};

// Consumer settings. Limits checked by the Consumer constructor: the group id
// follows the topic-name rule (empty means no group); max_poll_records >= 1;
// session_timeout >= 1 ms.
struct ConsumerOptions {
  // The consumer group; empty means no group (use assign(), not subscribe()).
  std::string group{};
  OffsetReset auto_offset_reset = OffsetReset::latest;
  // The most records one poll() returns.
  std::size_t max_poll_records = 500;
  // A group member that does not poll for this long is removed from its
  // group and its partitions are given to the others.
  std::chrono::milliseconds session_timeout{10'000};
  // Used when this member leads the group's assignment (all members of one
  // group should name the same strategy; the first member's choice wins).
  AssignmentStrategy assignment = AssignmentStrategy::range;
  ConsumerWait wait = ConsumerWait::blocking;
  // Durable topics: check the checksum of every batch read from a segment
  // file before its records are returned (Kafka's check.crcs, on by
  // default). Headers and offset order are checked either way; a failed
  // check makes poll() throw Error(corrupt) naming the file and the byte,
  // and the position stays in front of the damaged batch. Turning it off
  // saves one XXH3 pass over the bytes read (docs/benchmarks.md, log.read).
  // Memory topics ignore it: their bytes never leave the process.
  bool check_crcs = true;
  // The consumer's name in Node::metrics() and in Prometheus labels; empty
  // (the default) means "consumer-N", N counting the node's consumers from 1.
  std::string client_id{};
};

}  // namespace rill
