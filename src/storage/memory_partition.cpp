#include "storage/memory_partition.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

#include "codec/batch_format.hpp"
#include "storage/timestamp_scan.hpp"

namespace rill::storage {
namespace {

constexpr std::uint64_t frame_word(std::uint32_t length, std::uint32_t kind) noexcept {
  return static_cast<std::uint64_t>(length) | (static_cast<std::uint64_t>(kind) << 32);
}

}  // namespace

MemoryPartition::MemoryPartition(std::size_t capacity_bytes, FullPolicy policy,
                                 detail::BlockingWait* data_signal)
    : capacity_(capacity_bytes & ~std::size_t{7}),
      max_batch_bytes_((capacity_ / 2 - kFrameHeaderSize) & ~std::size_t{7}),
      policy_(policy),
      data_signal_(data_signal),
      words_(new std::uint64_t[capacity_ / 8]()),
      index_(capacity_ / kIndexInterval + 2) {}

MemoryPartition::~MemoryPartition() = default;

std::uint64_t MemoryPartition::load_word(std::uint64_t position) const noexcept {
  auto* word = const_cast<std::uint64_t*>(words_.get()) + (position % capacity_) / 8;
  // relaxed: ordering comes from the claim, committed_position_, or (overwrite
  // readers) the fence-and-revalidate protocol; the load only has to be atomic.
  return std::atomic_ref<std::uint64_t>(*word).load(std::memory_order_relaxed);
}

void MemoryPartition::write_frame(std::uint64_t position, std::uint32_t kind,
                                  std::span<const std::byte> batch) noexcept {
  const std::size_t padded = codec::padded_batch_size(batch.size());
  const auto length = static_cast<std::uint32_t>(kind == kFramePadding
                                                     ? capacity_ - position % capacity_
                                                     : kFrameHeaderSize + padded);
  std::uint64_t* out = words_.get() + (position % capacity_) / 8;
  if (policy_ != FullPolicy::overwrite) {
    // No reader can be at these bytes: an in-place reader's gate keeps
    // them, a copying reader holds the claim, and readers only read below
    // committed_position_: plain stores suffice.
    *out = frame_word(length, kind);
    if (!batch.empty()) {
      std::memcpy(out + 1, batch.data(), batch.size());
      std::memset(reinterpret_cast<std::byte*>(out + 1) + batch.size(), 0, padded - batch.size());
    }
    return;
  }
  // Overwrite readers may be copying these words right now: store them as
  // relaxed atomics (the release fence in make_room() orders them after the
  // start_position_ update that tells those readers to discard their copy).
  std::atomic_ref<std::uint64_t>(out[0]).store(frame_word(length, kind), std::memory_order_relaxed);
  const std::size_t whole = batch.size() / 8;
  for (std::size_t i = 0; i < whole; ++i) {
    std::uint64_t w;
    std::memcpy(&w, batch.data() + 8 * i, 8);
    std::atomic_ref<std::uint64_t>(out[1 + i]).store(w, std::memory_order_relaxed);
  }
  if (const std::size_t tail = batch.size() % 8; tail != 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, batch.data() + 8 * whole, tail);
    std::atomic_ref<std::uint64_t>(out[1 + whole]).store(w, std::memory_order_relaxed);
  }
}

std::int64_t MemoryPartition::frame_next_offset(std::uint64_t position) const noexcept {
  const std::uint64_t batch = position + kFrameHeaderSize;
  const auto base = static_cast<std::int64_t>(load_word(batch));
  // Word at +24 holds last_offset_delta (low half) and record_count.
  const auto delta = static_cast<std::int32_t>(
      static_cast<std::uint32_t>(load_word(batch + offsetof(codec::BatchHeader, last_offset_delta))));
  return base + delta + 1;
}

bool MemoryPartition::make_room(std::uint64_t required_start) noexcept {
  const bool gated = policy_ != FullPolicy::overwrite;
  // relaxed: only this claim holder writes the start fields.
  std::uint64_t start = start_position_.load(std::memory_order_relaxed);
  std::int64_t start_offset = start_offset_.load(std::memory_order_relaxed);
  while (start < required_start) {
    const std::uint64_t header = load_word(start);
    const bool batch = (header >> 32) == kFrameBatch;
    // The smallest gate that lets this frame go: a batch's next offset; for
    // padding, one past the batch after it (whose base is start_offset).
    const std::int64_t frame_end = batch ? frame_next_offset(start) : start_offset + 1;
    if (gated && frame_end > cached_min_gate_) {
      cached_min_gate_ = gates_.min_offset_locked();
      if (frame_end > cached_min_gate_) return false;  // nothing stored yet
    }
    if (batch) start_offset = frame_end;
    start += static_cast<std::uint32_t>(header);
  }
  // relaxed: published to overwrite readers by the release fence below, and
  // to everyone else by committed_position_ / the claim.
  start_offset_.store(start_offset, std::memory_order_relaxed);
  start_position_.store(start, std::memory_order_relaxed);
  if (policy_ == FullPolicy::overwrite) {
    // release fence: orders the start_position_ store above before our word
    // stores over the dropped frames. Pairs with the acquire fence in
    // read_overwrite() (memory_partition_read.cpp): a reader that copied one
    // of our new words then sees the new start_position_ and discards its copy.
    std::atomic_thread_fence(std::memory_order_release);
  }
  return true;
}

void MemoryPartition::add_index_entry(std::int64_t offset, std::uint64_t position) noexcept {
  if (index_next_ != index_first_ && position - last_indexed_position_ < kIndexInterval) return;
  if (index_next_ - index_first_ == index_.size()) ++index_first_;
  index_[index_next_ % index_.size()] = IndexEntry{offset, position};
  ++index_next_;
  last_indexed_position_ = position;
}

AppendStatus MemoryPartition::try_append_claimed(std::span<std::byte> batch, std::int64_t& base) noexcept {
  const std::uint64_t frame = kFrameHeaderSize + codec::padded_batch_size(batch.size());
  std::uint64_t position = write_position_;
  const std::uint64_t to_end = capacity_ - position % capacity_;
  const std::uint64_t padding = to_end < frame ? to_end : 0;
  const std::uint64_t span_end = position + padding + frame;
  const std::uint64_t required_start = span_end > capacity_ ? span_end - capacity_ : 0;
  // relaxed: this claim holder is the only writer of start_position_.
  if (required_start > start_position_.load(std::memory_order_relaxed) && !make_room(required_start)) {
    return AppendStatus::full;
  }
  if (padding != 0) {
    write_frame(position, kFramePadding, {});
    position += padding;
  }
  base = next_offset_;
  codec::set_base_offset(batch, base);
  write_frame(position, kFrameBatch, batch);
  add_index_entry(base, position);
  next_offset_ = base + codec::load_field<std::int32_t>(batch.data(),
                                                        offsetof(codec::BatchHeader, last_offset_delta)) + 1;
  write_position_ = position + frame;
  counters.add_appended(static_cast<std::uint64_t>(next_offset_ - base), batch.size());  // we hold the claim
  // relaxed: published by the release store of committed_position_ below.
  end_offset_.store(next_offset_, std::memory_order_relaxed);
  // release: pairs with the acquire loads of committed_position_ by readers
  // (committed_position(): read_in_place, read_overwrite; end_offset, info);
  // the frame bytes above are in place before a reader can see the new position.
  committed_position_.store(write_position_, std::memory_order_release);
  return AppendStatus::ok;
}

AppendResult MemoryPartition::append(std::span<std::byte> batch, bool wait,
                                     detail::Deadline deadline) noexcept {
  if (batch.size() > max_batch_bytes_ || batch.size() < codec::kBatchHeaderSize) {
    return {AppendStatus::too_large, -1};
  }
  AppendResult result;
  auto attempt = [&]() noexcept {
    claim();
    result.status = try_append_claimed(batch, result.base_offset);
    unclaim();
    return result.status == AppendStatus::ok;
  };
  const bool appended = attempt();
  if (!appended) counters.add_full_event();
  if (!appended && wait && policy_ == FullPolicy::block) {
    // Each retry claims and tries again; gates notify space_wait_ after
    // moving forward (or going), so the sleep ends when room may exist.
    if (!space_wait_.wait_until(attempt, deadline)) result.status = AppendStatus::timed_out;
  }
  if (result.status == AppendStatus::ok && data_signal_ != nullptr) data_signal_->notify();
  return result;
}

std::int64_t MemoryPartition::end_offset() const noexcept {
  // acquire: pairs with the release store of committed_position_ (the end
  // offset is stored before it); gives a value at least as new as it.
  (void)committed_position_.load(std::memory_order_acquire);
  return end_offset_.load(std::memory_order_relaxed);
}

Positions MemoryPartition::positions() const noexcept {
  const PartitionInfo window = info();
  return Positions{window.start_offset, window.end_offset, window.start_offset, window.end_offset};
}

PartitionInfo MemoryPartition::info() const noexcept {
  PartitionInfo info;
  // acquire: see end_offset(). The start fields are read relaxed: a snapshot.
  const std::uint64_t committed = committed_position_.load(std::memory_order_acquire);
  info.end_offset = end_offset_.load(std::memory_order_relaxed);
  const std::uint64_t start = start_position_.load(std::memory_order_relaxed);
  info.start_offset = std::min(start_offset_.load(std::memory_order_relaxed), info.end_offset);
  info.retained_bytes = committed > start ? committed - start : 0;
  return info;
}

MemoryPartition::Located MemoryPartition::locate_claimed(std::int64_t offset) const noexcept {
  // relaxed: under the claim, the start fields are stable.
  Located at{start_position_.load(std::memory_order_relaxed),
             start_offset_.load(std::memory_order_relaxed)};
  if (offset >= next_offset_) return Located{write_position_, next_offset_};
  // Binary search: the last live index entry at or below `offset`.
  std::uint64_t lo = index_first_, hi = index_next_;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    const IndexEntry& e = index_[mid % index_.size()];
    if (e.offset <= offset) {
      if (e.position >= at.position) at = Located{e.position, e.offset};
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  // Walk frames from there to the one holding `offset`.
  while (at.position < write_position_) {
    const std::uint64_t header = load_word(at.position);
    const auto length = static_cast<std::uint32_t>(header);
    if ((header >> 32) == kFrameBatch) {
      const std::int64_t next = frame_next_offset(at.position);
      if (offset < next) break;
      at.offset = next;
    }
    at.position += length;
  }
  return at;
}

std::int64_t MemoryPartition::offset_for_timestamp(std::int64_t timestamp_ms) {
  return scan_for_timestamp(*this, kEarliest, timestamp_ms);
}

}  // namespace rill::storage
