#include "storage/memory_reader.hpp"

#include <algorithm>
#include <atomic>

#include "codec/batch_format.hpp"

namespace rill::storage {

MemoryReader::MemoryReader(MemoryPartition& log, CursorSlot* slot, std::uint64_t position,
                           std::int64_t offset) noexcept
    : log_(log),
      slot_(slot),
      read_position_(position),
      next_offset_(offset),
      published_position_(position),
      committed_seen_(log.committed_position()) {}

MemoryReader::~MemoryReader() { log_.unregister_cursor(slot_); }

void MemoryReader::publish(std::uint64_t position) noexcept {
  if (position == published_position_) return;
  published_position_ = position;
  // release: pairs with the acquire load in MemoryPartition::slowest_cursor();
  // our reads of the frames below `position` happen before the appender
  // overwrites them.
  slot_->position.store(position, std::memory_order_release);
  log_.space_wait_.notify();  // a blocked appender may now have room
}

void MemoryReader::begin_poll() noexcept {
  publish(read_position_);
  copied_this_poll_ = false;
  copy_begin_ = copy_end_ = read_position_;
}

bool MemoryReader::has_data() const noexcept {
  return log_.committed_position() != read_position_;  // acquire inside
}

bool MemoryReader::next_batch(codec::BatchView& out, std::int64_t& lost_from, std::int64_t& lost) noexcept {
  lost = 0;
  if (log_.policy() == FullPolicy::overwrite) return next_in_copy(out, lost_from, lost);
  return next_in_place(out);
}

bool MemoryReader::next_in_place(codec::BatchView& out) noexcept {
  for (;;) {
    if (read_position_ == committed_seen_) {
      committed_seen_ = log_.committed_position();  // acquire: the frames below are complete
      if (read_position_ == committed_seen_) return false;
    }
    const std::byte* frame = log_.bytes_at(read_position_);
    const auto header = codec::load_field<std::uint64_t>(frame, 0);
    const auto length = static_cast<std::uint32_t>(header);
    if ((header >> 32) == kFramePadding) {
      read_position_ += length;
      continue;
    }
    const std::byte* batch = frame + kFrameHeaderSize;
    const auto size = codec::load_field<std::uint32_t>(batch, offsetof(codec::BatchHeader, batch_length));
    out = codec::BatchView::trusted({batch, size});
    if (out.next_offset() <= next_offset_) {  // already read (after a seek into this frame)
      read_position_ += length;
      continue;
    }
    current_frame_length_ = length;
    current_batch_end_ = out.next_offset();
    return true;
  }
}

bool MemoryReader::copy_chunk() noexcept {
  if (!copy_) {
    copy_budget_ = log_.capacity() / 2 + 8;
    copy_.reset(new std::uint64_t[copy_budget_ / 8]);
  }
  bool overrun = false;
  for (;;) {
    committed_seen_ = log_.committed_position();  // acquire: frames below are published
    // relaxed: validated after the copy like everything else we read.
    const std::uint64_t start = log_.start_position_.load(std::memory_order_relaxed);
    if (start > read_position_) {
      overrun = true;
      read_position_ = start;
    }
    if (read_position_ == committed_seen_) return false;
    const std::uint64_t end = std::min(committed_seen_, read_position_ + copy_budget_ - 8);
    log_.copy_words(copy_.get(), read_position_, end);
    // acquire fence: pairs with the release fence in MemoryPartition::make_room();
    // if any word we copied was written after a frame was dropped, the
    // start_position_ load below sees that drop.
    std::atomic_thread_fence(std::memory_order_acquire);
    // relaxed: ordered by the fence above.
    if (log_.start_position_.load(std::memory_order_relaxed) > read_position_) continue;
    copy_begin_ = read_position_;
    copy_end_ = end;
    break;
  }
  // The loss is counted at the first batch handed out from here on (the
  // oldest retained frame may be padding, or cut off by the copy budget).
  if (overrun) overrun_pending_ = true;
  return true;
}

bool MemoryReader::next_in_copy(codec::BatchView& out, std::int64_t& lost_from, std::int64_t& lost) noexcept {
  for (;;) {
    if (read_position_ == copy_end_) {
      if (copied_this_poll_) return false;  // views into the copy live until the next poll
      copied_this_poll_ = true;
      if (!copy_chunk()) return false;
    }
    const auto* frame = reinterpret_cast<const std::byte*>(copy_.get()) + (read_position_ - copy_begin_);
    const auto header = codec::load_field<std::uint64_t>(frame, 0);
    const auto length = static_cast<std::uint32_t>(header);
    if (read_position_ + length > copy_end_) {  // cut by the copy budget: next poll
      copy_end_ = read_position_;
      return false;
    }
    if ((header >> 32) == kFramePadding) {
      read_position_ += length;
      continue;
    }
    const std::byte* batch = frame + kFrameHeaderSize;
    const auto size = codec::load_field<std::uint32_t>(batch, offsetof(codec::BatchHeader, batch_length));
    out = codec::BatchView::trusted({batch, size});
    if (overrun_pending_) {
      overrun_pending_ = false;
      if (out.base_offset() > next_offset_) {
        lost_from = next_offset_;
        lost = out.base_offset() - next_offset_;
        next_offset_ = out.base_offset();
      }
    }
    if (out.next_offset() <= next_offset_) {
      read_position_ += length;
      continue;
    }
    current_frame_length_ = length;
    current_batch_end_ = out.next_offset();
    return true;
  }
}

void MemoryReader::consumed(std::int64_t next_offset) noexcept {
  next_offset_ = next_offset;
  if (next_offset >= current_batch_end_) read_position_ += current_frame_length_;
}

std::int64_t MemoryReader::seek(std::int64_t offset) noexcept {
  log_.claim();
  // relaxed: under the claim the start fields are stable.
  const std::int64_t start = log_.start_offset_.load(std::memory_order_relaxed);
  offset = std::clamp(offset, start, log_.next_offset_);
  const MemoryPartition::Located at = log_.locate_claimed(offset);
  read_position_ = at.position;
  next_offset_ = offset;
  published_position_ = at.position;
  // relaxed: the appender reads cursors only under the claim we hold; moving
  // back is safe because the frame at `at.position` is still retained.
  slot_->position.store(at.position, std::memory_order_relaxed);
  log_.cached_slowest_ = 0;  // we may have moved below the appender's cached slowest cursor
  committed_seen_ = log_.write_position_;
  log_.unclaim();
  log_.space_wait_.notify();
  copied_this_poll_ = false;
  overrun_pending_ = false;
  copy_begin_ = copy_end_ = read_position_;
  current_frame_length_ = 0;
  current_batch_end_ = 0;
  return offset;
}

}  // namespace rill::storage
