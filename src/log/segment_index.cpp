// Segment: the sparse offset and time indexes (segment.hpp, segment_format.hpp).
#include <algorithm>
#include <cstring>
#include <limits>

#include "codec/batch_reader.hpp"
#include "log/segment.hpp"

namespace rill::log {

namespace {

// Zeroes [p, p + n) writing only up to its last non-zero byte: a store of a
// zero over a zero still dirties a shared mapping's page, so an open that
// found nothing to clear writes nothing back (and leaves mtimes alone).
void zero_range(std::byte* p, std::size_t n) noexcept {
  constexpr std::size_t kChunk = 512;
  std::size_t end = n;
  while (end > 0) {
    const std::size_t chunk = std::min(end, kChunk);
    if (!all_zero(p + end - chunk, chunk)) break;
    end -= chunk;
  }
  if (end > 0) std::memset(p, 0, end);
}

}  // namespace

OffsetIndexEntry Segment::offset_entry(std::size_t i) const noexcept {
  OffsetIndexEntry e;
  std::memcpy(&e, index_map_ + i * sizeof e, sizeof e);
  return e;
}

TimeIndexEntry Segment::time_entry(std::size_t i) const noexcept {
  TimeIndexEntry e;
  std::memcpy(&e, time_map_ + i * sizeof e, sizeof e);
  return e;
}

void Segment::append_offset_entry(std::uint32_t relative, std::uint32_t position) noexcept {
  // relaxed: only this writer stores the count.
  const std::size_t n = offset_entries_.load(std::memory_order_relaxed);
  if ((n + 1) * sizeof(OffsetIndexEntry) > index_bytes_) return;  // sized so this cannot happen
  const OffsetIndexEntry e{relative, position};
  std::memcpy(index_map_ + n * sizeof e, &e, sizeof e);
  // release: the entry bytes happen before a reader's acquire load of the
  // count (index_lookup) that includes it.
  offset_entries_.store(n + 1, std::memory_order_release);
}

void Segment::append_time_entry(std::int64_t timestamp, std::uint32_t relative) noexcept {
  // relaxed: only this writer stores the count.
  const std::size_t n = time_entries_.load(std::memory_order_relaxed);
  if ((n + 1) * sizeof(TimeIndexEntry) > time_bytes_) return;
  const TimeIndexEntry e{timestamp, relative, 0};
  std::memcpy(time_map_ + n * sizeof e, &e, sizeof e);
  time_index_max_ = timestamp;
  // release: pairs with the acquire in time_lookup.
  time_entries_.store(n + 1, std::memory_order_release);
}

Segment::IndexHit Segment::index_lookup(std::int64_t offset, std::size_t committed) const noexcept {
  // acquire: pairs with the release in append_offset_entry.
  const std::size_t n = offset_entries_.load(std::memory_order_acquire);
  // Binary search for the last entry with base offset <= offset.
  std::size_t low = 0, high = n;  // answer in [low, high): entries before low qualify
  while (low < high) {
    const std::size_t mid = low + (high - low) / 2;
    if (base_offset_ + offset_entry(mid).relative_offset <= offset) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  if (low == 0) return {0, base_offset_};
  const OffsetIndexEntry e = offset_entry(low - 1);
  // An entry may point at a batch not committed yet: then so is `offset`.
  if (e.position >= committed) return {committed, base_offset_ + e.relative_offset};
  return {e.position, base_offset_ + e.relative_offset};
}

std::size_t Segment::time_lookup(std::int64_t timestamp, std::size_t committed) const noexcept {
  // acquire: pairs with the release in append_time_entry.
  const std::size_t n = time_entries_.load(std::memory_order_acquire);
  // The last entry with a timestamp < `timestamp`: every batch up to it is
  // older, so the answer is at or after it.
  std::size_t low = 0, high = n;
  while (low < high) {
    const std::size_t mid = low + (high - low) / 2;
    if (time_entry(mid).timestamp < timestamp) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  if (low == 0) return 0;
  return index_lookup(base_offset_ + time_entry(low - 1).relative_offset, committed).position;
}

void Segment::trim_index_counts(std::size_t offset_entries, std::size_t time_entries) noexcept {
  // relaxed: recovery runs before any reader exists.
  offset_entries_.store(offset_entries, std::memory_order_relaxed);
  time_entries_.store(time_entries, std::memory_order_relaxed);
  time_index_max_ = time_entries == 0 ? std::numeric_limits<std::int64_t>::min()
                                      : time_entry(time_entries - 1).timestamp;
}

void Segment::settle_indexes() noexcept {
  // relaxed: recovery runs before any reader exists.
  const std::size_t offset_entries = offset_entries_.load(std::memory_order_relaxed);
  const std::size_t time_entries = time_entries_.load(std::memory_order_relaxed);
  zero_range(index_map_ + offset_entries * sizeof(OffsetIndexEntry),
             index_bytes_ - offset_entries * sizeof(OffsetIndexEntry));
  zero_range(time_map_ + time_entries * sizeof(TimeIndexEntry),
             time_bytes_ - time_entries * sizeof(TimeIndexEntry));
}

bool Segment::time_entry_matches_batch(const TimeIndexEntry& entry, std::size_t offset_entries) const noexcept {
  std::size_t low = 0, high = offset_entries;  // the offset entry for the same batch
  while (low < high) {
    const std::size_t mid = low + (high - low) / 2;
    if (offset_entry(mid).relative_offset < entry.relative_offset) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  if (low == offset_entries || offset_entry(low).relative_offset != entry.relative_offset) return false;
  // The offset entry was checked above: a whole batch header starts there.
  const std::size_t position = offset_entry(low).position;
  const auto parsed = codec::parse_batch({log_map_ + position, log_bytes_ - position}, false);
  return parsed.status == codec::DecodeStatus::ok && parsed.batch.max_timestamp() <= entry.timestamp;
}

bool Segment::load_indexes() {
  // Offset index: entries must increase, point inside the log at an aligned
  // batch header with the offset they claim.
  const std::size_t offset_capacity = index_bytes_ / sizeof(OffsetIndexEntry);
  std::size_t valid = 0;
  OffsetIndexEntry previous{0, 0};
  for (; valid < offset_capacity; ++valid) {
    const OffsetIndexEntry e = offset_entry(valid);
    if (e.position == 0 && e.relative_offset == 0) break;
    if (e.position <= previous.position || e.relative_offset <= previous.relative_offset ||
        e.position % codec::kBatchAlignment != 0 || e.position >= log_bytes_) {
      break;
    }
    const auto parsed = codec::parse_batch({log_map_ + e.position, log_bytes_ - e.position}, false);
    if (parsed.status != codec::DecodeStatus::ok ||
        parsed.batch.base_offset() != base_offset_ + e.relative_offset) {
      break;
    }
    previous = e;
  }
  // Time index: strictly increasing timestamps and relative offsets, each
  // at an offset the offset index holds (both entries are written for the
  // same batch), and no lower than that batch's own max timestamp (an entry
  // is the running maximum up to its batch). A lower timestamp would make
  // a seek by time start after batches that match it.
  const std::size_t time_capacity = time_bytes_ / sizeof(TimeIndexEntry);
  std::size_t valid_time = 0;
  for (; valid_time < time_capacity; ++valid_time) {
    const TimeIndexEntry e = time_entry(valid_time);
    if (e.relative_offset == 0) break;
    const bool ordered = valid_time == 0 || (e.timestamp > time_entry(valid_time - 1).timestamp &&
                                             e.relative_offset > time_entry(valid_time - 1).relative_offset);
    if (!ordered || e.reserved != 0 || e.relative_offset > previous.relative_offset) break;
    if (!time_entry_matches_batch(e, valid)) break;
  }
  // Clean when nothing but zeros follows the valid entries.
  const bool untouched =
      all_zero(index_map_ + valid * sizeof(OffsetIndexEntry), index_bytes_ - valid * sizeof(OffsetIndexEntry)) &&
      all_zero(time_map_ + valid_time * sizeof(TimeIndexEntry), time_bytes_ - valid_time * sizeof(TimeIndexEntry));
  trim_index_counts(valid, valid_time);
  return untouched;
}

}  // namespace rill::log
