// MemoryPartition::read(): a ReadLease filled in place, by a checked copy,
// or by a copy under the append claim (see the Design block in
// memory_partition.hpp).
#include <algorithm>
#include <atomic>
#include <new>

#include "codec/batch_format.hpp"
#include "storage/gate_table.hpp"
#include "storage/memory_partition.hpp"

namespace rill::storage {
namespace {

// Where a walk over frames stopped.
struct Walked {
  std::uint64_t position = 0;  // the first frame not taken
  bool cut = false;            // that frame ends past `end` (a copy cut it short)
};

// Passes to `add` the batch frames in [position, end) whose records reach
// `offset`, up to about `max_bytes` (at least one) counted in `taken`;
// `frame_at` maps a ring position to its bytes (in the ring, or in a copy).
// `add` returns false when it can take no more (out of memory).
template <typename FrameAt, typename Add>
Walked take_frames(FrameAt frame_at, Add add, std::uint64_t position, std::uint64_t end, std::int64_t offset,
                   std::size_t max_bytes, std::size_t& taken) noexcept {
  while (position < end) {
    const std::byte* frame = frame_at(position);
    const auto header = codec::load_field<std::uint64_t>(frame, 0);
    const auto length = static_cast<std::uint32_t>(header);
    if (position + length > end) return Walked{position, true};
    if ((header >> 32) == kFrameBatch) {
      const std::byte* bytes = frame + kFrameHeaderSize;
      const auto size = codec::load_field<std::uint32_t>(bytes, offsetof(codec::BatchHeader, batch_length));
      const codec::BatchView batch = codec::BatchView::trusted({bytes, size});
      if (batch.next_offset() > offset) {
        if (taken != 0 && taken + size > max_bytes) break;
        if (!add(batch)) break;
        taken += size;
      }
    }
    position += length;
  }
  return Walked{position, false};
}

}  // namespace

void MemoryPartition::copy_words(std::uint64_t* out, std::uint64_t from, std::uint64_t to) const noexcept {
  std::uint64_t* ring = words_.get();
  for (std::uint64_t p = from; p < to; p += 8) {
    // relaxed: the appender may be overwriting this word; the caller
    // validates the whole copy afterwards (acquire fence + start_position).
    *out++ = std::atomic_ref<std::uint64_t>(ring[(p % capacity_) / 8]).load(std::memory_order_relaxed);
  }
}

MemoryPartition::Located MemoryPartition::read_start_claimed(std::int64_t offset, ReadLease& into) const noexcept {
  // relaxed: under the claim the start fields are stable.
  const std::int64_t start = start_offset_.load(std::memory_order_relaxed);
  if (offset < start) {
    into.lost_from_ = offset;
    into.lost_ = start - offset;
    offset = start;
  }
  const ReadLease::Hint& hint = into.hint_;
  if (hint.partition == this && hint.offset == offset &&
      hint.position >= start_position_.load(std::memory_order_relaxed)) {
    return Located{hint.position, offset};
  }
  Located at = locate_claimed(offset);
  at.offset = offset;
  return at;
}

ReadStatus MemoryPartition::read(std::int64_t offset, std::size_t max_bytes, ReadLease& into,
                                 const ReadOptions& options) noexcept {
  into.reset();
  if (policy_ == FullPolicy::overwrite) return read_overwrite(offset, max_bytes, into);
  if (options.gate != nullptr && *options.gate && options.gate->offset() <= offset) {
    return read_in_place(offset, max_bytes, into);
  }
  return read_claimed(offset, max_bytes, into);
}

ReadStatus MemoryPartition::read_in_place(std::int64_t offset, std::size_t max_bytes, ReadLease& into) noexcept {
  // The caller's gate is at or below `offset`, so no frame holding an
  // offset >= `offset` is dropped while it stays there: the frames from the
  // hint (or the located frame) up to committed_position_ stay in place.
  Located at{into.hint_.position, offset};
  // relaxed: the caller placed its gate under the claim (or after reading
  // under it), which ordered every earlier drop before this load; a frame
  // the gate keeps cannot be dropped later. A hint below the start is stale.
  const bool hinted = into.hint_.partition == this && into.hint_.offset == offset &&
                      into.hint_.position >= start_position_.load(std::memory_order_relaxed);
  if (!hinted) {
    claim();
    at = read_start_claimed(offset, into);
    unclaim();
  }
  into.from_offset_ = into.next_offset_ = at.offset;
  const std::uint64_t committed = committed_position();  // acquire: frames below are complete
  std::size_t taken = 0;
  const Walked walked = take_frames([this](std::uint64_t p) { return bytes_at(p); }, adder(into), at.position,
                                    committed, at.offset, max_bytes, taken);
  into.hint_ = ReadLease::Hint{this, walked.position, into.next_offset_};
  return into.empty() ? ReadStatus::empty : ReadStatus::ok;
}

ReadStatus MemoryPartition::read_claimed(std::int64_t offset, std::size_t max_bytes, ReadLease& into) noexcept {
  // No gate keeps these frames: copy them while appenders, the only ones
  // who drop frames, are held off by the claim.
  claim();
  const Located at = read_start_claimed(offset, into);
  into.from_offset_ = into.next_offset_ = at.offset;
  // Under the claim the frames below write_position_ are complete: find
  // where the frames to take end, then copy just those.
  std::size_t taken = 0;
  std::uint64_t end = at.position;
  while (end < write_position_) {
    const std::uint64_t header = load_word(end);
    if ((header >> 32) == kFrameBatch) {
      if (taken != 0 && taken + static_cast<std::uint32_t>(header) > max_bytes) break;
      taken += static_cast<std::uint32_t>(header);
    }
    end += static_cast<std::uint32_t>(header);
  }
  const std::size_t words = (end - at.position) / 8;
  if (words > into.copy_words_) {
    into.copy_.reset(new (std::nothrow) std::uint64_t[words]);
    into.copy_words_ = into.copy_ ? words : 0;
  }
  if (into.copy_words_ < words) {
    unclaim();
    return ReadStatus::empty;  // out of memory: nothing read this time
  }
  copy_words(into.copy_.get(), at.position, end);
  unclaim();
  const auto* copy = reinterpret_cast<const std::byte*>(into.copy_.get());
  taken = 0;
  const Walked walked = take_frames([&](std::uint64_t p) { return copy + (p - at.position); }, adder(into),
                                    at.position, end, at.offset, max_bytes, taken);
  into.hint_ = ReadLease::Hint{this, walked.position, into.next_offset_};
  return into.empty() ? ReadStatus::empty : ReadStatus::ok;
}

ReadStatus MemoryPartition::read_overwrite(std::int64_t offset, std::size_t max_bytes, ReadLease& into) noexcept {
  Located at{into.hint_.position, offset};
  // The hint is checked after the copy like everything else copied (below).
  if (into.hint_.partition != this || into.hint_.offset != offset) {
    claim();
    at = read_start_claimed(offset, into);
    unclaim();
  }
  const std::uint64_t max_frame = capacity_ / 2 + 8;
  std::uint64_t budget = std::min<std::uint64_t>(max_frame, (std::max<std::size_t>(max_bytes, 64) + 7) & ~7ull);
  bool overrun = false;
  Walked walked;
  std::size_t taken = 0;
  for (;;) {
    const std::uint64_t committed = committed_position();  // acquire: frames below are published
    // relaxed: validated after the copy like everything else we read.
    const std::uint64_t start = start_position_.load(std::memory_order_relaxed);
    if (start > at.position) {
      overrun = true;
      at.position = start;
    }
    if (at.position == committed) {
      into.from_offset_ = into.next_offset_ = at.offset;
      return ReadStatus::empty;  // the hint stays: the next read looks again
    }
    const std::uint64_t end = std::min(committed, at.position + budget);
    const std::size_t words = (end - at.position) / 8;
    if (words > into.copy_words_) {
      into.copy_.reset(new (std::nothrow) std::uint64_t[words]);
      into.copy_words_ = into.copy_ ? words : 0;
      if (!into.copy_) {
        into.from_offset_ = into.next_offset_ = at.offset;
        return ReadStatus::empty;  // out of memory: nothing read this time
      }
    }
    copy_words(into.copy_.get(), at.position, end);
    // acquire fence: pairs with the release fence in make_room(); if any
    // word we copied was written after a frame was dropped, the
    // start_position_ load below sees that drop.
    std::atomic_thread_fence(std::memory_order_acquire);
    // relaxed: ordered by the fence above.
    if (start_position_.load(std::memory_order_relaxed) > at.position) continue;
    const auto* copy = reinterpret_cast<const std::byte*>(into.copy_.get());
    const std::uint64_t from = at.position;
    walked = take_frames([&](std::uint64_t p) { return copy + (p - from); }, adder(into), from, end, at.offset,
                         max_bytes, taken);
    if (!into.empty() || !walked.cut) break;
    // The first batch is longer than the copy: copy again, all of it.
    const auto length = static_cast<std::uint32_t>(codec::load_field<std::uint64_t>(copy + (walked.position - from), 0));
    budget = std::min(max_frame, walked.position + length - from);
  }
  if (overrun && !into.empty() && into.batches_.front().base_offset() > at.offset) {
    // Overwritten under us: exactly the records between where we were and
    // the oldest batch we copied.
    if (into.lost_ == 0) into.lost_from_ = at.offset;
    at.offset = into.batches_.front().base_offset();
    into.lost_ = at.offset - into.lost_from_;
  }
  into.from_offset_ = at.offset;
  if (into.empty()) into.next_offset_ = at.offset;
  into.hint_ = ReadLease::Hint{this, walked.position, into.next_offset_};
  return into.empty() ? ReadStatus::empty : ReadStatus::ok;
}

}  // namespace rill::storage
