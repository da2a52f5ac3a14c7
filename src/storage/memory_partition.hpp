// MemoryPartition: one partition of a StorageKind::memory topic, a bounded
// in-memory log of record batches with dense offsets, on ring::FrameRing
// (one codec batch per frame).
//
// Design
// - Appends claim a frame of the ring without a lock (FrameRing's claim:
//   offsets assigned at claim time, a claim no stopped holder can hold up
//   for longer than the ring's stuck_timeout), set the batch's base offset
//   to the frame's first offset, copy the batch into the frame and commit
//   it. Appenders run at once; a frame stuck uncommitted for stuck_timeout
//   is padded over by a reader waiting at it, its offsets skipped (a gap no
//   record ever had: its append reports AppendStatus::failed, so nothing
//   acknowledged is lost) and its holder's late commit fails.
// - The retained window is what the ring holds: the oldest frame an anchor
//   of the ring (or the limit mark) reaches, up to the tail. Under
//   FullPolicy::overwrite, and under ::block / ::fail while no gate is open,
//   appends overwrite the oldest frames.
// - Gates (gate_table.hpp) hold back appends under ::block and ::fail
//   through the ring's limit mark: the frame holding the smallest gate.
//   A claim that would write over that frame reports full; the appender
//   then moves the mark up to the frame of the smallest gate now (a walk
//   over the frames the gates let go) and tries again, or, under ::block,
//   waits on space_wait_ until a gate moves forward. A gate opened or moved
//   back lowers the mark to its frame and then claims a barrier (a 16-byte
//   padding frame, FrameRing::try_barrier) under the new mark: every claim
//   after the barrier saw the new mark, every claim before it lies below
//   the barrier, so the frame is kept exactly when the barrier fits. When
//   it does not (the frame is the oldest one and the ring is full to it),
//   the gate moves to the next frame and tries again; the caller of
//   open_gate / move_back learns where it landed.
// - The mark moves under gate_lock_ (base::SpinLock), taken by gate changes
//   and by appenders that found the ring full, never by an append that has
//   room; a holder stopped there holds back only appenders that are full,
//   and only until it runs again. Gate moves forward take no lock.
// - read() (memory_partition_read.cpp) fills a ReadLease two ways: in
//   place, when the caller holds a gate at or below the offset (the gate
//   keeps the frames from it on), walking committed frames; otherwise by
//   copying the frames into the lease and validating the copy against the
//   tail afterwards (overwrite readers never hold an appender up). A read
//   starts at the lease's hint when it names the offset, else where
//   FrameRing::locate() finds the offset.
// - Appended batches are added to `counters` with relaxed fetch_adds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "base/spin_lock.hpp"
#include "rill/detail/wait_strategy.hpp"
#include "ring/frame_ring.hpp"
#include "storage/partition.hpp"

namespace rill::storage {

class MemoryPartition final : public Partition {
 public:
  // `capacity_bytes` is rounded up to a multiple of 16. `data_signal` is
  // notified after every commit (consumers wait on it); not owned.
  // `stuck_timeout`: how long an uncommitted frame may hold readers up
  // before a reader pads it over.
  MemoryPartition(std::size_t capacity_bytes, FullPolicy policy, detail::BlockingWait* data_signal,
                  std::chrono::nanoseconds stuck_timeout = std::chrono::seconds(1));
  ~MemoryPartition() override;
  MemoryPartition(const MemoryPartition&) = delete;
  MemoryPartition& operator=(const MemoryPartition&) = delete;

  [[nodiscard]] AppendResult append(std::span<std::byte> batch, bool wait,
                                    detail::Deadline deadline) noexcept override;
  [[nodiscard]] std::size_t max_batch_bytes() const noexcept override { return ring_.max_body_bytes(); }
  [[nodiscard]] PartitionInfo info() const noexcept override;
  [[nodiscard]] std::int64_t end_offset() const noexcept override { return ring_.next_offset(); }
  // durable_end is log_start: nothing here survives the process.
  [[nodiscard]] Positions positions() const noexcept override;
  [[nodiscard]] ReadStatus read(std::int64_t offset, std::size_t max_bytes, ReadLease& into,
                                const ReadOptions& options) noexcept override;
  // Scans the retained batches from the oldest (skipping each batch whose
  // max timestamp is earlier without decoding it).
  [[nodiscard]] std::int64_t offset_for_timestamp(std::int64_t timestamp_ms) override;

  [[nodiscard]] std::size_t capacity() const noexcept { return ring_.capacity(); }
  [[nodiscard]] FullPolicy policy() const noexcept { return policy_; }
  // Bytes claimed since the partition was made (frames and padding).
  [[nodiscard]] std::uint64_t claim_position() const noexcept { return ring_.claim_position(); }

  // Test-only: the ring, to claim a frame and leave it uncommitted.
  [[nodiscard]] ring::FrameRing& ring_for_test() noexcept { return ring_; }

 private:
  // One claim, write and commit; false when the ring is full now.
  [[nodiscard]] bool try_append(std::span<std::byte> batch, std::uint32_t records, AppendResult& result) noexcept;
  // Full: moves the limit mark up to the smallest gate's frame. True when
  // it moved (a claim may fit now).
  [[nodiscard]] bool raise_limit() noexcept;
  // The mark a lookup may start from (block/fail), or none.
  [[nodiscard]] ring::FrameMark known_mark() const noexcept;

  void lock_gates() noexcept override { gate_lock_.lock(); }
  void unlock_gates() noexcept override { gate_lock_.unlock(); }
  std::int64_t gate_lowered_locked(std::int64_t offset) noexcept override;
  void gate_advanced() noexcept override { space_wait_.notify(); }

  // read() (memory_partition_read.cpp). Where a read of `offset` starts:
  // the hint or a lookup; an offset older than the window moves to its
  // start and is noted as lost in `into`. False: nothing to read now.
  [[nodiscard]] bool read_start(std::int64_t& offset, ReadLease& into, ring::FrameMark& at) const noexcept;
  [[nodiscard]] ReadStatus read_in_place(std::int64_t offset, ring::FrameMark at, std::size_t max_bytes,
                                         ReadLease& into) noexcept;
  [[nodiscard]] ReadStatus read_copy(std::int64_t offset, ring::FrameMark at, std::size_t max_bytes,
                                     ReadLease& into) noexcept;

  ring::FrameRing ring_;
  const FullPolicy policy_;
  detail::BlockingWait* const data_signal_;
  // Gate changes and limit-mark moves (see Design); never a plain append.
  alignas(detail::kFalseSharingRange) base::SpinLock gate_lock_;
  // Appenders waiting for room (FullPolicy::block); gates moving forward notify it.
  detail::BlockingWait space_wait_;
};

}  // namespace rill::storage
