// MemoryPartition: one partition of a StorageKind::memory topic, a bounded
// in-memory log of record batches with dense offsets.
//
// Design
// - Storage is a byte ring of `capacity` bytes (a multiple of 8) holding
//   frames back to back. A frame is an 8-byte header {length, kind} and a
//   whole codec batch padded to 8 bytes. A frame never wraps: when one would
//   not fit before the ring's end, a padding frame fills the rest. Every
//   frame is at most capacity / 2, so a frame always fits once the frames
//   before it are dropped.
// - Positions are byte counts since the partition was created; they only
//   increase, and `position % capacity` is the place in the ring. The
//   retained window is [start_position, committed_position) and holds the
//   offsets [start_offset, end_offset); both ends only move forward.
// - Appends are serialized by `append_claim` (the base::SpinLock, not an OS
//   mutex): the holder drops the oldest frames it needs room for, copies its
//   one batch, sets its base offset, and publishes committed_position with a
//   release store. Nothing else happens under the claim, so it is held for
//   one memcpy of one batch. Gate changes other than a move forward, and
//   reads that look an offset up or copy without a gate, take the same
//   claim (briefly; see read() below), which is why the appender can read
//   the gate table and the sparse index without any other synchronisation.
// - Gates (gate_table.hpp) hold back the appender by offset: under
//   ::block and ::fail it never drops a batch frame whose records reach the
//   smallest gate (its next offset > gate), nor a padding frame in front of
//   a batch at or past it; it reports `full` (or waits on space_wait until
//   a gate moves). The appender keeps `cached_min_gate_`, a copy of
//   the smallest gate (gates only move forward without the claim, so the
//   copy errs on the safe side), and rescans the table only when the copy
//   would stop it; opening a gate or moving one back lowers the copy under
//   the claim. A gate moving forward wakes appenders waiting on space_wait.
// - Under FullPolicy::overwrite the appender never waits and ignores gates:
//   it moves start_position past the frames it overwrites and issues a
//   release fence before writing over them (seqlock style). Readers copy
//   frames out with relaxed atomic word loads, issue an acquire fence, and
//   re-read start_position: if it moved past what they copied, the copy may
//   be torn and is discarded; they resume at the new start and report
//   exactly (new start offset - their offset) lost records.
// - read() (memory_partition_read.cpp) fills a ReadLease three ways:
//   in place, when the caller holds a gate at or below the offset (the gate
//   keeps the frames); under ::overwrite, by copying the frames into the
//   lease with the seqlock check above (no claim: readers never hold
//   an appender up); otherwise (::block / ::fail without a gate) by copying
//   under the append claim, since nothing else keeps the frames from being
//   dropped while they are copied (one memcpy of at most max_bytes; the
//   poll loop holds a gate and never takes this path). A read at the
//   offset the lease's hint names starts at the hint's position without
//   the offset lookup; any other offset is looked up under the claim.
// - A sparse index (one entry per >= kIndexInterval bytes, a fixed array of
//   capacity / kIndexInterval + 2 entries) maps offsets to positions for
//   the offset lookup of a read.
// - The claim holder adds each appended batch to `counters` (the base
//   class's PartitionCounters, on lines of their own), once per batch.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/spin_lock.hpp"
#include "rill/detail/cache.hpp"
#include "rill/detail/wait_strategy.hpp"
#include "storage/partition.hpp"

namespace rill::storage {

inline constexpr std::size_t kFrameHeaderSize = 8;
inline constexpr std::uint32_t kFrameBatch = 1;
inline constexpr std::uint32_t kFramePadding = 2;
inline constexpr std::size_t kIndexInterval = 4096;

class MemoryPartition final : public Partition {
 public:
  // `capacity_bytes` is rounded down to a multiple of 8. `data_signal` is
  // notified after every publish (consumers wait on it); not owned.
  MemoryPartition(std::size_t capacity_bytes, FullPolicy policy, detail::BlockingWait* data_signal);
  ~MemoryPartition() override;
  MemoryPartition(const MemoryPartition&) = delete;
  MemoryPartition& operator=(const MemoryPartition&) = delete;

  [[nodiscard]] AppendResult append(std::span<std::byte> batch, bool wait,
                                    detail::Deadline deadline) noexcept override;
  [[nodiscard]] std::size_t max_batch_bytes() const noexcept override { return max_batch_bytes_; }
  [[nodiscard]] PartitionInfo info() const noexcept override;
  [[nodiscard]] std::int64_t end_offset() const noexcept override;
  // durable_end is log_start: nothing here survives the process.
  [[nodiscard]] Positions positions() const noexcept override;
  [[nodiscard]] ReadStatus read(std::int64_t offset, std::size_t max_bytes, ReadLease& into,
                                const ReadOptions& options) noexcept override;
  // Scans the retained batches from the oldest (skipping each batch whose
  // max timestamp is earlier without decoding it).
  [[nodiscard]] std::int64_t offset_for_timestamp(std::int64_t timestamp_ms) override;

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] FullPolicy policy() const noexcept { return policy_; }
  [[nodiscard]] std::uint64_t committed_position() const noexcept {
    // acquire: pairs with the release store in publish(); a caller that then
    // reads frames below this position sees them complete.
    return committed_position_.load(std::memory_order_acquire);
  }

 private:
  struct IndexEntry {
    std::int64_t offset = 0;
    std::uint64_t position = 0;
  };
  // Where a read starts: the frame holding `offset`.
  struct Located {
    std::uint64_t position = 0;
    std::int64_t offset = 0;
  };

  // The append claim (base::SpinLock): acquire on taking, release on giving
  // back, so each holder sees the claimed fields as the last one left them.
  void claim() noexcept { append_claim_.lock(); }
  void unclaim() noexcept { append_claim_.unlock(); }
  [[nodiscard]] AppendStatus try_append_claimed(std::span<std::byte> batch, std::int64_t& base) noexcept;
  [[nodiscard]] bool make_room(std::uint64_t required_start) noexcept;
  void write_frame(std::uint64_t position, std::uint32_t kind, std::span<const std::byte> batch) noexcept;
  void add_index_entry(std::int64_t offset, std::uint64_t position) noexcept;
  // Under the claim: the frame holding `offset` (start <= offset <= end).
  [[nodiscard]] Located locate_claimed(std::int64_t offset) const noexcept;
  // The offset after the batch frame at `position` (claimed, or below committed).
  [[nodiscard]] std::int64_t frame_next_offset(std::uint64_t position) const noexcept;
  [[nodiscard]] std::uint64_t load_word(std::uint64_t position) const noexcept;
  [[nodiscard]] const std::byte* bytes_at(std::uint64_t position) const noexcept {
    return reinterpret_cast<const std::byte*>(words_.get()) + position % capacity_;
  }

  void lock_gates() noexcept override { claim(); }
  void unlock_gates() noexcept override { unclaim(); }
  void gate_lowered_locked(std::int64_t offset) noexcept override {
    cached_min_gate_ = std::min(cached_min_gate_, offset);
  }
  void gate_advanced() noexcept override { space_wait_.notify(); }

  // read() (memory_partition_read.cpp). Under the claim: where a read of
  // `offset` starts, from the lease's hint or the index; an offset below the
  // retained start moves to it and is noted as lost in `into`.
  [[nodiscard]] Located read_start_claimed(std::int64_t offset, ReadLease& into) const noexcept;
  [[nodiscard]] ReadStatus read_in_place(std::int64_t offset, std::size_t max_bytes, ReadLease& into) noexcept;
  [[nodiscard]] ReadStatus read_claimed(std::int64_t offset, std::size_t max_bytes, ReadLease& into) noexcept;
  [[nodiscard]] ReadStatus read_overwrite(std::int64_t offset, std::size_t max_bytes, ReadLease& into) noexcept;
  // A callable adding a batch to `into` (ReadLease lets its storage add).
  [[nodiscard]] static auto adder(ReadLease& into) noexcept {
    return [&into](const codec::BatchView& batch) noexcept { return into.add(batch); };
  }
  // Copies the words of [from, to) with relaxed atomic loads (an
  // overwriting appender may be writing them; the caller validates).
  void copy_words(std::uint64_t* out, std::uint64_t from, std::uint64_t to) const noexcept;

  const std::size_t capacity_;
  const std::size_t max_batch_bytes_;
  const FullPolicy policy_;
  detail::BlockingWait* const data_signal_;
  std::unique_ptr<std::uint64_t[]> words_;  // the ring, capacity_ / 8 words

  // Taken by appenders, gate changes and read lookups; everything below up to the next atomic is
  // only touched by its holder.
  alignas(detail::kFalseSharingRange) base::SpinLock append_claim_;
  std::uint64_t write_position_ = 0;   // == committed_position_ outside the claim
  std::int64_t next_offset_ = 0;       // offset of the next appended record
  std::int64_t cached_min_gate_ = GateTable::kNoGate;  // appender's copy of the smallest gate (see Design)
  std::vector<IndexEntry> index_;      // ring of index entries
  std::uint64_t index_first_ = 0;      // logical number of the oldest entry
  std::uint64_t index_next_ = 0;       // logical number of the next entry
  std::uint64_t last_indexed_position_ = 0;

  // Written by the appender (release), read by readers (acquire).
  alignas(detail::kFalseSharingRange) std::atomic<std::uint64_t> committed_position_{0};
  // Written by the appender before committed_position_; read by lag()/info().
  std::atomic<std::int64_t> end_offset_{0};
  // The oldest retained frame and its first offset. Written by the appender
  // (under the claim); read by overwrite readers to validate their copies.
  alignas(detail::kFalseSharingRange) std::atomic<std::uint64_t> start_position_{0};
  std::atomic<std::int64_t> start_offset_{0};
  // Appenders waiting for room (FullPolicy::block); gates moving forward notify it.
  detail::BlockingWait space_wait_;
};

}  // namespace rill::storage
