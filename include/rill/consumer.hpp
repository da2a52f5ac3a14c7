// rill::Consumer: reads records from a node's topics, alone (assign) or as a
// member of a consumer group (subscribe).
//
// Each assigned partition has a position: the offset of the next record
// poll() returns. A new position comes from, in order: seek(), the group's
// committed offset, then ConsumerOptions::auto_offset_reset. Consumers in
// different groups, and consumers without a group, read independently: each
// group (and each consumer without one, or assigned by hand) holds a read
// gate on each partition it reads, at its position, and under
// FullPolicy::block / fail the lowest gate holds back producers. A
// partition a group member gives up keeps the group's gate at the group's
// committed offset until its next owner takes it.
//
// Zero copy: the RecordViews that poll() returns point into the partition's
// memory (under FullPolicy::overwrite, into this consumer's own copy, since
// the ring may be overwritten). They stay valid until the next poll(), a
// seek, a call that changes the assignment, or close(): the gate that
// protects them from being overwritten moves only then.
//
// Thread safety: one thread at a time (a Consumer is not shared; move it to
// another thread if needed). Rebalance callbacks run inside poll(),
// subscribe(), unsubscribe() and close() on the calling thread.
//
// Groups: members of one group share the partitions of the topics they
// subscribe to. Joins, leaves, silent members (no poll for session_timeout)
// and topic changes move partitions; a partition moves only after its old
// owner revoked it (at its next poll) or was removed, so no two members of a
// group read one partition at once. A new owner starts at the group's
// committed offset: commit() before a partition moves to avoid reading
// records again. On a node opened on a directory (Node::open) committed
// offsets are stored in the internal topic "__consumer_offsets" and survive
// closing and reopening the node; on an in-memory node they live as long
// as the node.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rill/metrics.hpp"
#include "rill/node.hpp"
#include "rill/options.hpp"
#include "rill/record.hpp"
#include "rill/topic.hpp"

namespace rill {

// Told when a group member's partitions change. Both run on the consumer's
// thread inside poll() (or subscribe/unsubscribe/close); the consumer may be
// used from them (e.g. commit() in on_partitions_revoked). An exception they
// throw is caught and dropped.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Before the partitions are taken away: the last chance to commit them.
  virtual void on_partitions_revoked(const std::vector<TopicPartition>& partitions) { (void)partitions; }
  // After the partitions were added, with their positions set.
  virtual void on_partitions_assigned(const std::vector<TopicPartition>& partitions) { (void)partitions; }
};

// Records lost by this consumer on one partition of a FullPolicy::overwrite
// topic: offsets [first_offset, first_offset + count) were overwritten before
// it read them (or a seek asked for offsets no longer retained).
struct LossEvent {
  TopicPartition partition;
  std::int64_t first_offset = 0;
  std::int64_t count = 0;
};

// What one poll() returns: a range of RecordView in per-partition offset
// order, plus the losses found during the poll. Valid until the next poll().
class PollResult {
 public:
  PollResult() = default;
  PollResult(std::span<const RecordView> records, std::span<const LossEvent> losses) noexcept
      : records_(records), losses_(losses) {}

  [[nodiscard]] auto begin() const noexcept { return records_.begin(); }
  [[nodiscard]] auto end() const noexcept { return records_.end(); }
  [[nodiscard]] std::size_t size() const noexcept { return records_.size(); }
  [[nodiscard]] bool empty() const noexcept { return records_.empty(); }
  [[nodiscard]] const RecordView& operator[](std::size_t i) const noexcept { return records_[i]; }
  // Loss events (overwrite topics only); empty when nothing was lost.
  [[nodiscard]] std::span<const LossEvent> losses() const noexcept { return losses_; }
  // Total records lost, over all partitions, during this poll.
  [[nodiscard]] std::int64_t lost() const noexcept {
    std::int64_t total = 0;
    for (const LossEvent& e : losses_) total += e.count;
    return total;
  }

 private:
  std::span<const RecordView> records_;
  std::span<const LossEvent> losses_;
};

namespace client {
class ConsumerImpl;  // internal
}

class Consumer {
 public:
  // Throws Error(invalid_argument) for a bad group id or option.
  explicit Consumer(const Node& node, const ConsumerOptions& options = {});
  ~Consumer();  // close()
  Consumer(Consumer&&) noexcept;
  Consumer& operator=(Consumer&&) noexcept;
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Reads exactly these partitions (replacing any previous assignment; not
  // with subscribe()). Throws Error(not_found) for an unknown topic or
  // partition, Error(invalid_argument) while subscribed.
  void assign(const std::vector<TopicPartition>& partitions);

  // Joins the group (ConsumerOptions::group, which must be set) for these
  // topics; partitions arrive at the next poll(). Topics that do not exist
  // yet are picked up when created. Throws Error(invalid_argument) without a
  // group, for a bad topic name, or while assigned manually. `listener`
  // (optional, not owned) must outlive the subscription.
  void subscribe(const std::vector<std::string>& topics, RebalanceListener* listener = nullptr);

  // Leaves the group (revoking every partition) or drops the manual
  // assignment.
  void unsubscribe();

  // Returns the next records of the assigned, unpaused partitions, at most
  // max_poll_records, waiting up to `timeout` for the first one. Takes part
  // in the group's rebalancing (callbacks run here). Returns an empty result
  // on timeout. Throws Error(closed) after close(), and Error(corrupt)
  // (naming the partition, offset and reason) at a damaged record, without
  // moving past it. Allocates only while its reusable buffers grow.
  [[nodiscard]] PollResult poll(std::chrono::milliseconds timeout);

  // Moves the position of an assigned partition. An offset outside the
  // retained window is clamped to it (below: the oldest retained record,
  // reported as a loss on overwrite topics; above: the end). Throws
  // Error(not_found) if `tp` is not assigned.
  void seek(const TopicPartition& tp, std::int64_t offset);
  void seek_to_beginning(const std::vector<TopicPartition>& partitions);
  void seek_to_end(const std::vector<TopicPartition>& partitions);

  // Moves the position of an assigned partition to the earliest retained
  // record whose timestamp is >= `timestamp_ms`, or to the end when there is
  // none; returns the offset reached. Durable topics find the batch with
  // their time index; memory topics scan their retained batches (skipping a
  // batch by its max timestamp without decoding it). Throws
  // Error(not_found) if `tp` is not assigned.
  std::int64_t seek_to_timestamp(const TopicPartition& tp, std::int64_t timestamp_ms);
  // Kafka's offsetsForTimes: for each partition (assigned or not), the
  // earliest retained offset whose record timestamp is >= the given time,
  // or the partition's end offset when there is none. Moves no position.
  // Throws Error(not_found) for an unknown topic or partition.
  [[nodiscard]] std::map<TopicPartition, std::int64_t> offsets_for_times(
      const std::map<TopicPartition, std::int64_t>& timestamps_ms) const;

  // The offset of the next record poll() returns from `tp`. Throws
  // Error(not_found) if `tp` is not assigned.
  [[nodiscard]] std::int64_t position(const TopicPartition& tp) const;
  // Records between position(tp) and the partition's end.
  [[nodiscard]] std::int64_t lag(const TopicPartition& tp) const;

  // Commits position() of every assigned partition for the group.
  //
  // I/O: on a node opened on a directory, one batch (a record per
  // partition, keyed by group and partition) is appended to the internal
  // compacted topic "__consumer_offsets" before the offsets change in
  // memory. That topic is FsyncPolicy::none: no fsync per commit (its log is
  // synced when the node closes cleanly). The call holds the node's group
  // mutex for that append, so group changes and commits of every group wait
  // for it. On an in-memory node it only updates the node's table.
  // Errors: Error(invalid_argument) without a group, or for offsets that do
  // not fit one batch of the offsets topic; Error(commit_failed) when this
  // subscribed consumer was removed from its group (silent past its session
  // timeout) or names a partition it does not own (nothing is stored: poll()
  // to rejoin); the storage's Error (io) when the append fails. On any
  // error committed() is unchanged.
  // What survives: a commit that returned survives a crash of the process
  // (its bytes are in the page cache); after a power loss or an OS crash the
  // group may resume from an older commit and read the records after it
  // again (at-least-once).
  void commit();
  // Commits the given offsets (the next offset to read, as Kafka does), with
  // the I/O, errors and crash behaviour of commit() above.
  void commit(const std::map<TopicPartition, std::int64_t>& offsets);
  // The group's committed offset for `tp`, if any.
  [[nodiscard]] std::optional<std::int64_t> committed(const TopicPartition& tp) const;

  // Paused partitions stay assigned but poll() skips them.
  void pause(const std::vector<TopicPartition>& partitions);
  void resume(const std::vector<TopicPartition>& partitions);
  [[nodiscard]] std::vector<TopicPartition> paused() const;

  // The partitions this consumer reads now, sorted.
  [[nodiscard]] std::vector<TopicPartition> assignment() const;
  // This consumer's id in its group ("" without a group subscription).
  [[nodiscard]] std::string member_id() const;

  // Leaves the group (revoked callbacks run) and releases every cursor.
  // Idempotent; later calls other than close() throw Error(closed).
  void close();

  // This consumer's counters and, per assigned partition, its position and
  // lag now (see metrics.hpp). Also listed in Node::metrics() while the
  // consumer lives, with positions as of its last poll(). On the consumer's
  // thread, like every other call; allocates. Also after close().
  [[nodiscard]] ConsumerMetrics metrics() const;

 private:
  std::unique_ptr<client::ConsumerImpl> impl_;
};

}  // namespace rill
