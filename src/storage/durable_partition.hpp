// DurablePartition: one partition of a StorageKind::durable topic, the
// storage::Partition interface on top of a log::SegmentLog (a folder of
// memory-mapped segment files, see src/log/segment_log.hpp).
//
// Design
// - log::SegmentLog has a single writer. Producers on several threads
//   append here, so appends (and the retention and sync calls, which are
//   writer calls too) are serialized by `writer_mutex_`, an OS mutex: an
//   append may fsync or create a segment, which is too long to spin on.
// - A durable partition is never full: `wait` and the deadline are unused
//   and FullPolicy does not apply; the limits are the disk and retention.
// - After each append the node's data signal is notified, so consumers
//   sleeping in poll() wake; the log already published the bytes with a
//   release store (its end offset), which a reader acquire-loads.
// - Retention runs on the append path, under the writer mutex, after every
//   segment's worth of appended bytes or once a second, whichever comes
//   first; it deletes whole closed segments only.
// - Group commit under FsyncPolicy::every_batch: an append writes its batch
//   under the writer mutex without syncing and releases it; the sync is
//   then awaited, either inside append() or, through
//   append_deferring_sync(), by the caller in await_durable() once it has
//   released its own locks. A waiter takes `sync_mutex_`: the first one
//   there (the leader) prepares a ticket (briefly under the writer mutex)
//   covering every batch appended so far and runs the fdatasync without
//   the writer mutex, so other producers keep appending; the waiters queued
//   behind it find themselves covered (the log's durable end offset, which
//   only moves forward, reached their end) and return without a sync of
//   their own, or else the next of them leads the next sync for all that
//   arrived meanwhile. An append is acknowledged only after a sync covering
//   it succeeded. A failed sync's error is kept with the end offset its
//   ticket covered (`failed_sync_`), and every waiter it covered gets that
//   error; later waiters get the log's refusal (see I/O errors below).
//   Lock order: sync_mutex_, then writer_mutex_.
// - FsyncPolicy::interval: appends sync when the last sync is older than
//   the interval, and the node's SyncTimer visits the partition once per
//   interval to sync what idle producers left unsynced.
// - Idempotent producers: the log checks a batch's producer sequence under
//   the writer mutex (log/producer_state.hpp). A resend of a batch the log
//   holds is AppendStatus::ok with `duplicate` and the original base offset
//   (and waits for the same sync as a fresh batch); an unexpected sequence
//   fails with Error(out_of_order_sequence) and writes nothing.
// - I/O errors are not swallowed: an append that fails returns
//   AppendStatus::failed with the Error; after a failed fsync the log
//   refuses every later append until the node is reopened.
// - CleanupPolicy::compact: the node's LogCleanerThread runs compaction
//   passes (durable_partition_compaction.cpp) after each roll; a pass takes
//   writer_mutex_ only to swap a segment pointer, never while copying.
// - read() takes the batches of one log::SegmentLog::read into the lease
//   with the segment's shared_ptr, so a lease outlives the retention (or
//   the delete) of its segment. It never takes the writer mutex. The
//   lease's hint is not used: the log's own lookup is a binary search.
// - Gates are kept (the API is the same for every storage) but hold
//   nothing back: retention here is by size and time. `gate_lock_` guards
//   the table's changes.
// - close() (the topic was deleted) makes later appends fail; readers keep
//   reading what they can reach.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/spin_lock.hpp"
#include "log/segment_log.hpp"
#include "storage/partition.hpp"
#include "storage/log_cleaner_thread.hpp"
#include "storage/sync_timer.hpp"

namespace rill::storage {

class DurablePartition final : public Partition {
 public:
  // Takes the opened (recovered) log. `data_signal` is notified after each
  // append; not owned. `name` ("topic-partition") is used in messages.
  DurablePartition(std::unique_ptr<log::SegmentLog> log, const TopicOptions& options,
                   std::string name, detail::BlockingWait* data_signal);
  ~DurablePartition() override;
  DurablePartition(const DurablePartition&) = delete;
  DurablePartition& operator=(const DurablePartition&) = delete;

  [[nodiscard]] AppendResult append(std::span<std::byte> batch, bool wait,
                                    detail::Deadline deadline) noexcept override;
  // Under FsyncPolicy::every_batch the batch is written but not synced
  // (see Design); await_durable makes it durable.
  [[nodiscard]] AppendResult append_deferring_sync(std::span<std::byte> batch, bool wait,
                                                   detail::Deadline deadline,
                                                   std::int64_t& sync_pending_end) noexcept override;
  // The group commit (see Design). Never throws.
  [[nodiscard]] std::shared_ptr<const Error> await_durable(std::int64_t end_offset) noexcept override;
  [[nodiscard]] std::size_t max_batch_bytes() const noexcept override { return max_batch_bytes_; }
  [[nodiscard]] PartitionInfo info() const noexcept override;
  // Adds the log's sync and recovery counts (log/log_counters.hpp).
  [[nodiscard]] PartitionMetrics metrics() const noexcept override;
  [[nodiscard]] std::int64_t end_offset() const noexcept override { return log_->end_offset(); }
  [[nodiscard]] Positions positions() const noexcept override;
  [[nodiscard]] ReadStatus read(std::int64_t offset, std::size_t max_bytes, ReadLease& into,
                                const ReadOptions& options) noexcept override;
  // Offsets below this are synced to disk.
  [[nodiscard]] std::int64_t durable_end_offset() const noexcept { return log_->durable_end_offset(); }
  // The time index finds the first batch whose max timestamp is late
  // enough; that batch is then decoded to find the exact record.
  [[nodiscard]] std::int64_t offset_for_timestamp(std::int64_t timestamp_ms) override;
  // The log's producer-state table, under the writer mutex.
  [[nodiscard]] std::int32_t next_sequence(std::int64_t producer_id) noexcept override;

  // Refuses later appends (the topic was deleted). Waits for an append in
  // progress to finish.
  void close() noexcept;
  // Syncs every appended batch (unless the log failed). Throws Error(io).
  void sync();
  // Registers with `timer` (FsyncPolicy::interval); the destructor
  // unregisters.
  void start_interval_sync(std::shared_ptr<SyncTimer> timer, std::chrono::milliseconds interval);
  // For the SyncTimer: syncs appended records that are not durable yet
  // through the group-commit path. A failure marks the log failed (the
  // next append reports it); never throws.
  void sync_unsynced() noexcept;
  // CleanupPolicy::compact (durable_partition_compaction.cpp): registers
  // with `cleaner`, which compacts this partition off the append path; the
  // destructor unregisters.
  void start_compaction(std::shared_ptr<LogCleanerThread> cleaner,
                        std::chrono::milliseconds tombstone_retention);
  // For the cleaner thread: a segment was closed since the last pass (or
  // no pass ran yet).
  [[nodiscard]] bool compaction_due() const;
  // For the cleaner thread: one pass (log::SegmentLog::compact). Never
  // throws: a failure is written to stderr and retried after the next roll.
  log::CompactionResult compact(const std::atomic<bool>& stop) noexcept;

 private:
  void lock_gates() noexcept override { gate_lock_.lock(); }
  void unlock_gates() noexcept override { gate_lock_.unlock(); }
  // Takes the batches of `bytes` (read at `offset` from `segment`) into `into`.
  void take_batches(std::span<const std::byte> bytes, const std::shared_ptr<const log::Segment>& segment,
                    std::int64_t offset, ReadLease& into) const noexcept;
  void maybe_enforce_retention(std::size_t appended_bytes) noexcept;
  // Writes the batch (no sync under every_batch); sets `sync_pending_end`
  // to its end offset when it still waits for a sync, else -1.
  [[nodiscard]] AppendResult write(std::span<std::byte> batch, std::int64_t& sync_pending_end) noexcept;
  // Group commit: returns once offsets below `end` are durable (null), or
  // why not: the error of the failed sync that covered them, or the log's
  // refusal after an earlier failure.
  [[nodiscard]] std::shared_ptr<const Error> sync_through(std::int64_t end) noexcept;
  // Error(code) naming the partition; out_of_memory_ when it cannot be made.
  [[nodiscard]] std::shared_ptr<const Error> error_of(ErrorCode code, std::string_view what) const noexcept;
  [[nodiscard]] static AppendResult fail(std::shared_ptr<const Error> error) noexcept;

  const std::string name_;
  const std::size_t max_batch_bytes_;
  const std::size_t retention_step_bytes_;
  const bool has_retention_;
  detail::BlockingWait* const data_signal_;
  const bool group_commit_;  // FsyncPolicy::every_batch: appends sync through sync_through()
  std::unique_ptr<log::SegmentLog> log_;
  std::shared_ptr<SyncTimer> sync_timer_;  // set by start_interval_sync
  std::shared_ptr<LogCleanerThread> cleaner_;  // set by start_compaction
  std::chrono::milliseconds tombstone_retention_{0};
  std::int64_t compacted_active_base_ = -1;  // cleaner thread only: active segment at the last pass

  base::SpinLock gate_lock_;  // the gate table's changes (see Design)
  const std::shared_ptr<const Error> out_of_memory_;  // reported when an error cannot be allocated

  std::mutex sync_mutex_;    // one prepare+complete_sync at a time (see Design); guards the two below
  std::shared_ptr<const Error> failed_sync_;  // the first failed sync's error, for the waiters it covered
  std::int64_t failed_sync_end_ = -1;         // the end offset that sync's ticket covered

  std::mutex writer_mutex_;  // serializes the log's writer calls; guards the fields below
  bool closed_ = false;
  std::size_t bytes_since_retention_ = 0;
  std::chrono::steady_clock::time_point last_retention_{};
};

}  // namespace rill::storage
