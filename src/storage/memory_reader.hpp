// MemoryReader: one cursor on a MemoryPartition (see its Design block).
//
// Under FullPolicy::block / fail the reader hands out batches in place: the
// appender cannot drop a frame at or past `published_position_`, which only
// moves at begin_poll() or seek(). Under FullPolicy::overwrite it copies a
// chunk of frames (at most half the ring) into its own buffer once per poll,
// validates the copy against start_position, and hands out batches from the
// copy; an invalid copy means records were overwritten, and the reader
// reports exactly how many before resuming at the oldest retained frame.
//
// Thread safety: one thread (the owning consumer's).
#pragma once

#include <cstdint>
#include <memory>

#include "storage/memory_partition.hpp"

namespace rill::storage {

class MemoryReader final : public PartitionReader {
 public:
  MemoryReader(MemoryPartition& log, CursorSlot* slot, std::uint64_t position, std::int64_t offset) noexcept;
  ~MemoryReader() override;
  MemoryReader(const MemoryReader&) = delete;
  MemoryReader& operator=(const MemoryReader&) = delete;

  void begin_poll() noexcept override;
  [[nodiscard]] bool next_batch(codec::BatchView& out, std::int64_t& lost_from,
                                std::int64_t& lost) noexcept override;
  void consumed(std::int64_t next_offset) noexcept override;
  [[nodiscard]] bool has_data() const noexcept override;
  [[nodiscard]] std::int64_t position() const noexcept override { return next_offset_; }
  std::int64_t seek(std::int64_t offset) noexcept override;

 private:
  void publish(std::uint64_t position) noexcept;
  [[nodiscard]] bool next_in_place(codec::BatchView& out) noexcept;
  [[nodiscard]] bool next_in_copy(codec::BatchView& out, std::int64_t& lost_from,
                                  std::int64_t& lost) noexcept;
  // Copies [read_position_, min(committed, + budget)) and validates it;
  // moves read_position_ to the oldest frame first if we were overrun.
  [[nodiscard]] bool copy_chunk() noexcept;

  MemoryPartition& log_;
  CursorSlot* const slot_;
  std::uint64_t read_position_;        // the frame holding next_offset_ (or the end)
  std::int64_t next_offset_;           // next record to hand out
  std::uint64_t published_position_;   // last value stored to slot_->position
  std::uint64_t committed_seen_;       // reader-local copy of committed_position
  std::uint64_t current_frame_length_ = 0;
  std::int64_t current_batch_end_ = 0; // next_offset() of the batch last handed out

  // Overwrite mode only: this poll's validated copy of [copy_begin_, copy_end_).
  std::unique_ptr<std::uint64_t[]> copy_;
  std::uint64_t copy_budget_ = 0;
  std::uint64_t copy_begin_ = 0;
  std::uint64_t copy_end_ = 0;
  bool copied_this_poll_ = false;
  bool overrun_pending_ = false;       // overrun seen; loss not yet reported
};

}  // namespace rill::storage
