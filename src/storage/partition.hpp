// Partition: what a topic needs from one partition's storage, whatever
// the storage kind. A memory partition (memory_partition.hpp) implements it
// today; a durable partition (segment files) implements the same interface.
//
// The calls are per batch or per poll, never per record, so a virtual call
// here costs nothing measurable.
//
// Reading: read(offset, max_bytes, lease) fills a caller-owned ReadLease
// (read_lease.hpp) with the whole batches holding offsets >= offset, and
// RecordCursor (record_cursor.hpp) walks their records. Back-pressure on
// memory partitions comes from named gates (gate_table.hpp): plain offsets,
// one per consumer group or ungrouped consumer, not reader objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "rill/detail/wait_strategy.hpp"
#include "rill/error.hpp"
#include "rill/options.hpp"
#include "rill/topic.hpp"
#include "storage/gate_table.hpp"
#include "storage/partition_counters.hpp"
#include "storage/read_lease.hpp"

namespace rill::storage {

enum class AppendStatus {
  ok,         // appended; AppendResult::base_offset is the batch's first offset
  full,       // no room now (FullPolicy::fail, or a non-waiting append)
  timed_out,  // FullPolicy::block waited until the deadline
  too_large,  // the batch can never fit this partition
  failed,     // the storage failed (an I/O error; AppendResult::error says which)
};

struct AppendResult {
  AppendStatus status = AppendStatus::ok;
  std::int64_t base_offset = -1;
  // True when the batch was synced to disk before append returned (a
  // durable partition under its fsync policy); memory partitions say false.
  bool durable = false;
  // The batch was an idempotent producer's resend of a batch the partition
  // holds (durable partitions only): it was not written again, and
  // base_offset is the original's.
  bool duplicate = false;
  // Why, for AppendStatus::failed (allocated only on failure).
  std::shared_ptr<const Error> error{};
};

// A partition's positions at one moment (each may be stale at once).
// log_start <= durable_end <= log_end and high_watermark == log_end.
struct Positions {
  std::int64_t log_start = 0;       // the oldest retained offset
  std::int64_t log_end = 0;         // the offset the next appended record gets
  // Offsets below this survive a crash: a durable partition's synced end;
  // log_start on a memory partition, which holds nothing durable.
  std::int64_t durable_end = 0;
  // What consumers may read up to; log_end until replication exists.
  std::int64_t high_watermark = 0;
};

class Partition {
 public:
  virtual ~Partition() = default;

  // Appends one finished batch (its base offset is set here, in `batch`
  // and in storage). When `wait` is true and the policy is block, waits
  // until `deadline` for room. Thread-safe: appends are serialized.
  [[nodiscard]] virtual AppendResult append(std::span<std::byte> batch, bool wait,
                                            detail::Deadline deadline) noexcept = 0;
  // As append(), except that a durable partition under
  // FsyncPolicy::every_batch writes the batch without syncing it: it sets
  // `sync_pending_end` to the end offset the batch waits for (durable is
  // then false), and the caller makes it durable with await_durable before
  // acknowledging it. Otherwise sets -1 and appends as append() does.
  [[nodiscard]] virtual AppendResult append_deferring_sync(std::span<std::byte> batch, bool wait,
                                                           detail::Deadline deadline,
                                                           std::int64_t& sync_pending_end) noexcept {
    sync_pending_end = -1;
    return append(batch, wait, deadline);
  }
  // Returns once offsets below `end_offset` are durable, performing the
  // sync if none in progress covers them (group commit); null on success,
  // else why the sync covering them failed. Blocks for the sync; storage
  // that never defers a sync returns null at once.
  [[nodiscard]] virtual std::shared_ptr<const Error> await_durable(std::int64_t /*end_offset*/) noexcept {
    return nullptr;
  }

  // The sequence the next batch of idempotent producer `producer_id` must
  // start with (0 for a producer the partition does not know), or -1 when
  // this storage does not check sequences (memory partitions: the producer
  // counts them itself). Thread-safe; may wait for an append in progress.
  [[nodiscard]] virtual std::int32_t next_sequence(std::int64_t /*producer_id*/) noexcept { return -1; }

  // The largest batch (in bytes) this partition accepts.
  [[nodiscard]] virtual std::size_t max_batch_bytes() const noexcept = 0;
  // The retained window now (a snapshot, may be stale at once).
  [[nodiscard]] virtual PartitionInfo info() const noexcept = 0;
  [[nodiscard]] virtual std::int64_t end_offset() const noexcept = 0;
  // The positions now. Any thread, lock-free.
  [[nodiscard]] virtual Positions positions() const noexcept = 0;

  // Fills `into` (released first, its buffers reused) with the whole
  // batches holding offsets >= `offset`, up to about `max_bytes` (at least
  // one batch when any is there). An offset below the retained start reads
  // from the start and reports the records in between as lost; an offset
  // at or past the end reads nothing. Never blocks on an appender for
  // longer than one append, never throws; out of memory reads less.
  // Any thread, one lease per thread.
  [[nodiscard]] virtual ReadStatus read(std::int64_t offset, std::size_t max_bytes, ReadLease& into,
                                        const ReadOptions& options) noexcept = 0;

  // Holds gate `name` at `offset` (clamped to the retained window; kEarliest
  // and kLatest stand for its start and end). Holders of one name share the gate; an
  // existing gate above `offset` moves back to it. Memory partitions under
  // FullPolicy::block / ::fail keep every record at or past their smallest
  // gate (an appender waits or reports full); other storage ignores gates.
  // Takes the partition's exclusion briefly; may allocate; throws
  // Error(invalid_argument) when GateTable::kMaxGates names are open.
  [[nodiscard]] GateRef open_gate(std::string_view name, std::int64_t offset);

  // Offsets standing for the retained window's start and end (open_gate,
  // and the timestamp scan's starting point).
  static constexpr std::int64_t kEarliest = -1;
  static constexpr std::int64_t kLatest = -2;

  // The earliest retained offset whose record timestamp is >= `timestamp_ms`,
  // or end_offset() when there is none (Kafka's offsetsForTimes, with the
  // end instead of null). Any thread; reads into a private lease.
  [[nodiscard]] virtual std::int64_t offset_for_timestamp(std::int64_t timestamp_ms) = 0;

  // The counters and the retained window now (rill::PartitionMetrics; the
  // partition number is the caller's to fill). Any thread; lock-free here,
  // a durable partition adds its log's sync and recovery counts.
  [[nodiscard]] virtual PartitionMetrics metrics() const noexcept {
    PartitionMetrics m;
    counters.snapshot_into(m);
    const PartitionInfo window = info();
    m.start_offset = window.start_offset;
    m.end_offset = window.end_offset;
    m.retained_bytes = window.retained_bytes;
    return m;
  }

  // Counted by the storage on each append (under its append exclusion) and
  // by consumers when they meet a loss (partition_counters.hpp).
  PartitionCounters counters;

 protected:
  // The exclusion the gate table changes under (a memory partition's
  // append claim, so its appender reads the table consistently).
  virtual void lock_gates() noexcept = 0;
  virtual void unlock_gates() noexcept = 0;
  // Under lock_gates(): a gate was opened or moved back to `offset`.
  // Returns the offset the storage can hold it at (>= offset: the records
  // below it were overwritten meanwhile); the gate is moved there.
  virtual std::int64_t gate_lowered_locked(std::int64_t offset) noexcept { return offset; }
  // A gate moved forward (after the release store that moved it).
  virtual void gate_advanced() noexcept {}

  GateTable gates_;

 private:
  friend class GateRef;
};

}  // namespace rill::storage
