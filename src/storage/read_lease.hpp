// ReadLease: what one Partition::read() returns, owned and reused by the
// caller; and the options and status of a read.
//
// Design
// - A lease holds whole batches as zero-copy codec::BatchViews plus what
//   keeps their bytes valid: for a durable partition the shared_ptrs of
//   the segments they lie in (so a lease outlives a retention or a delete
//   of its segment); for a memory partition either the caller's gate
//   (views into the ring) or the lease's own copy buffer.
// - The next read into the same lease releases the previous one (as
//   reset() does) and reuses its vectors and copy buffer: in steady state a
//   read allocates nothing.
// - `hint_` is the ring position of the first frame a memory partition's
//   read did not take, with that frame's first offset. A read at exactly
//   that offset starts there without looking the offset up; the partition
//   checks the hint before trusting it (a copy is validated like any other).
// - One thread at a time (the reader's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codec/batch_reader.hpp"
#include "ring/frame_ring.hpp"

namespace rill::log {
class Segment;
}

namespace rill::storage {

class GateRef;
class Partition;

enum class ReadStatus {
  ok,       // at least one batch; damage() may name damage after the last one
  empty,    // nothing at the offset yet (or at or past the end)
  damaged,  // stopped in front of damaged storage at from_offset(); see damage()
};

struct ReadOptions {
  // Check each batch's checksum as it is read from storage (durable
  // partitions; ConsumerOptions::check_crcs). Memory storage holds no
  // bytes that left the process and ignores it.
  bool check_crcs = true;
  // A gate the caller holds (memory partitions under FullPolicy::block /
  // ::fail). When it is at or below the offset read, the batches are
  // handed out in place, valid while the caller keeps the gate at or below
  // from_offset(); otherwise they are copied into the lease.
  const GateRef* gate = nullptr;
};

class ReadLease {
 public:
  ReadLease() { batches_.reserve(64); }
  ReadLease(const ReadLease&) = delete;
  ReadLease& operator=(const ReadLease&) = delete;
  ReadLease(ReadLease&&) noexcept = default;
  ReadLease& operator=(ReadLease&&) noexcept = default;

  // Whole batches in offset order; the first may start below from_offset()
  // (a read from the middle of a batch): its records below that offset
  // were read before (RecordCursor skips them).
  [[nodiscard]] std::span<const codec::BatchView> batches() const noexcept { return batches_; }
  [[nodiscard]] bool empty() const noexcept { return batches_.empty(); }
  // The offset the read started from: the offset asked for, or the oldest
  // retained one when the records asked for were deleted or overwritten.
  [[nodiscard]] std::int64_t from_offset() const noexcept { return from_offset_; }
  // The offset after the last batch (from_offset() when there is none):
  // where the next read goes on.
  [[nodiscard]] std::int64_t next_offset() const noexcept { return next_offset_; }
  // Records deleted (retention) or overwritten (FullPolicy::overwrite)
  // before they were read: `lost()` of them, starting at `lost_from()`.
  [[nodiscard]] std::int64_t lost_from() const noexcept { return lost_from_; }
  [[nodiscard]] std::int64_t lost() const noexcept { return lost_; }
  // Names the file, byte and reason when the read stopped in front of
  // damaged storage, or is empty. The damage is never skipped.
  [[nodiscard]] const std::string& damage() const noexcept { return damage_; }

  // Takes `other`'s hint: a read into this lease at the offset `other`
  // stopped at starts where it stopped (and goes on timing a stuck frame
  // there).
  void continue_from(const ReadLease& other) noexcept {
    hint_ = other.hint_;
    stuck_ = other.stuck_;
  }
  // Releases the batches (and what pins them); keeps the buffers and the hint.
  void reset() noexcept {
    batches_.clear();
    segments_.clear();
    damage_.clear();
    from_offset_ = next_offset_ = 0;
    lost_from_ = lost_ = 0;
  }

 private:
  friend class MemoryPartition;
  friend class DurablePartition;

  struct Hint {
    const Partition* partition = nullptr;
    std::uint64_t position = 0;
    std::int64_t offset = -1;
  };

  // Adds a batch; false when out of memory (the read stops there).
  bool add(const codec::BatchView& batch) noexcept {
    try {
      batches_.push_back(batch);
    } catch (...) {
      return false;
    }
    next_offset_ = batch.next_offset();
    return true;
  }

  std::vector<codec::BatchView> batches_;
  std::vector<std::shared_ptr<const log::Segment>> segments_;  // durable: pins the mappings
  std::unique_ptr<std::uint64_t[]> copy_;                      // memory: copied frames
  std::size_t copy_words_ = 0;
  std::string damage_;
  std::int64_t from_offset_ = 0;
  std::int64_t next_offset_ = 0;
  std::int64_t lost_from_ = 0;
  std::int64_t lost_ = 0;
  Hint hint_;
  // A memory partition's watch on an uncommitted frame this lease's reads
  // stop at: once claimed for the ring's stuck_timeout it is padded over.
  ring::FrameRing::StuckWatch stuck_;
};

}  // namespace rill::storage
