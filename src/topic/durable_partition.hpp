// DurablePartition: one partition of a StorageKind::durable topic, the
// topic::PartitionLog interface on top of a log::PartitionLog (a folder of
// memory-mapped segment files, see src/log/partition_log.hpp).
//
// Design
// - log::PartitionLog has a single writer. Producers on several threads
//   append here, so appends (and the retention and sync calls, which are
//   writer calls too) are serialized by `writer_mutex_`, an OS mutex: an
//   append may fsync or create a segment, which is too long to spin on.
// - A durable partition is never full: `wait` and the deadline are unused
//   and FullPolicy does not apply; the limits are the disk and retention.
// - After each append the node's data signal is notified, so consumers
//   sleeping in poll() wake; the log already published the bytes with a
//   release store (its end offset), which a reader acquire-loads.
// - Readers (DurableReader) never take the writer mutex: log::PartitionLog::
//   read hands out spans of the mapped segment plus a shared_ptr that keeps
//   the mapping alive; the reader holds those until its next begin_poll.
// - Retention runs on the append path, under the writer mutex, after every
//   segment's worth of appended bytes or once a second, whichever comes
//   first; it deletes whole closed segments only.
// - I/O errors are not swallowed: an append that fails returns
//   AppendStatus::failed with the Error; after a failed fsync the log
//   refuses every later append until the node is reopened.
// - close() (the topic was deleted) makes later appends fail; readers keep
//   reading what they can reach.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "log/partition_log.hpp"
#include "topic/partition_log.hpp"

namespace rill::topic {

class DurablePartition final : public PartitionLog {
 public:
  // Takes the opened (recovered) log. `data_signal` is notified after each
  // append; not owned. `name` ("topic-partition") is used in messages.
  DurablePartition(std::unique_ptr<log::PartitionLog> log, const TopicOptions& options,
                   std::string name, detail::BlockingWait* data_signal);
  ~DurablePartition() override;
  DurablePartition(const DurablePartition&) = delete;
  DurablePartition& operator=(const DurablePartition&) = delete;

  [[nodiscard]] AppendResult append(std::span<std::byte> batch, bool wait,
                                    detail::Deadline deadline) noexcept override;
  [[nodiscard]] std::size_t max_batch_bytes() const noexcept override { return max_batch_bytes_; }
  [[nodiscard]] PartitionInfo info() const noexcept override;
  [[nodiscard]] std::int64_t end_offset() const noexcept override { return log_->end_offset(); }
  [[nodiscard]] std::unique_ptr<PartitionReader> open_reader(std::int64_t offset) override;
  // The time index finds the first batch whose max timestamp is late
  // enough; that batch is then decoded to find the exact record.
  [[nodiscard]] std::int64_t offset_for_timestamp(std::int64_t timestamp_ms) override;

  // Refuses later appends (the topic was deleted). Waits for an append in
  // progress to finish.
  void close() noexcept;
  // Syncs every appended batch (unless the log failed). Throws Error(io).
  void sync();

 private:
  void maybe_enforce_retention(std::size_t appended_bytes) noexcept;
  [[nodiscard]] AppendResult fail(ErrorCode code, std::string message) const noexcept;

  const std::string name_;
  const std::size_t max_batch_bytes_;
  const std::size_t retention_step_bytes_;
  const bool has_retention_;
  detail::BlockingWait* const data_signal_;
  std::unique_ptr<log::PartitionLog> log_;

  std::mutex writer_mutex_;  // serializes the log's writer calls; guards the fields below
  bool closed_ = false;
  std::size_t bytes_since_retention_ = 0;
  std::chrono::steady_clock::time_point last_retention_{};
};

}  // namespace rill::topic
