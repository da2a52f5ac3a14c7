// Segment: recovery on open (segment.hpp). The log is the truth; indexes are
// checked against it and rebuilt from it.
#include <algorithm>
#include <cstring>
#include <limits>

#include "codec/batch_reader.hpp"
#include "log/segment.hpp"

namespace rill::log {

bool all_zero(const std::byte* p, std::size_t n) noexcept {
  static constexpr std::byte kZeros[4096] = {};
  while (n > 0) {
    const std::size_t chunk = std::min(n, sizeof kZeros);
    if (std::memcmp(p, kZeros, chunk) != 0) return false;
    p += chunk;
    n -= chunk;
  }
  return true;
}

SegmentScan Segment::recover(bool active, bool verify_all) {
  const bool indexes_clean = load_indexes() && !indexes_reset_;
  // Bytes that may never have reached the disk can be damaged anywhere, not
  // only after the last index entry: then every indexed batch is checked
  // too, and damage among them makes the scan start from the beginning.
  const bool batches_intact = !verify_all || !indexes_clean || indexed_batches_intact(active);
  // A missing or damaged index is rebuilt whole, by scanning the log from
  // its start.
  if (!indexes_clean || !batches_intact) trim_index_counts(0, 0);
  // relaxed: recovery runs before any reader exists.
  const std::size_t entries = offset_entries_.load(std::memory_order_relaxed);
  std::size_t position = 0;
  std::int64_t offset = base_offset_;
  if (entries > 0) {
    const OffsetIndexEntry last = offset_entry(entries - 1);
    position = last.position;
    offset = base_offset_ + last.relative_offset;
  }
  // The running maximum as of the last index entry (segment_format.hpp).
  // relaxed: no reader yet.
  max_timestamp_.store(time_index_max_, std::memory_order_relaxed);
  bytes_since_index_ = 0;
  SegmentScan scan = scan_from(position, offset, active);
  scan.indexes_rebuilt = !indexes_clean;
  return scan;
}

SegmentScan Segment::scan_from(std::size_t position, std::int64_t offset, bool active) {
  SegmentScan scan;
  // A compacted closed segment may skip offsets; batches still go strictly up.
  const bool may_skip = config_.offsets_may_skip && !active;
  while (position < log_bytes_) {
    const codec::ParsedBatch parsed =
        codec::parse_batch({log_map_ + position, log_bytes_ - position}, true);
    const bool follows = parsed.status == codec::DecodeStatus::ok &&
                         (parsed.batch.base_offset() == offset ||
                          (may_skip && parsed.batch.base_offset() > offset));
    if (follows) {
      offset = parsed.batch.base_offset();
      const std::size_t padded = codec::padded_batch_size(parsed.batch.size_bytes());
      note_batch(position, offset, parsed.batch.max_timestamp(), padded);
      offset = parsed.batch.next_offset();
      position += padded;
      continue;
    }
    // The clean end: zeros from here on. A closed segment's tail is checked
    // for one granule only (damage shows where the scan stops), so opening
    // a long log does not read every segment's preallocated space.
    const std::size_t check = active ? log_bytes_ - position
                                     : std::min(log_bytes_ - position, kFileGranule);
    if (all_zero(log_map_ + position, check)) break;
    scan.damaged = true;
    scan.damage_position = position;
    if (parsed.status == codec::DecodeStatus::ok) {
      scan.reason = "base offset does not follow the previous batch";
    } else if (parsed.status == codec::DecodeStatus::incomplete) {
      scan.reason = "batch cut short by the end of the file";
    } else {
      scan.reason = parsed.error.reason;
    }
    scan.valid_batch_after = valid_batch_at_or_after(position + codec::kBatchAlignment);
    break;
  }
  // An index entry may point at the damaged batch itself. relaxed: no
  // reader yet.
  std::size_t entries = offset_entries_.load(std::memory_order_relaxed);
  std::size_t time_entries = time_entries_.load(std::memory_order_relaxed);
  while (entries > 0 && offset_entry(entries - 1).position >= position) --entries;
  while (time_entries > 0 && base_offset_ + time_entry(time_entries - 1).relative_offset >= offset) {
    --time_entries;
  }
  trim_index_counts(entries, time_entries);
  // The entries dropped are zeroed now, or, when damage stopped the scan,
  // only once the caller cuts it (discard_tail): a refused open changes
  // no byte of the index either.
  if (!scan.damaged) settle_indexes();
  publish(position, offset);
  synced_position_.store(position, std::memory_order_relaxed);  // no reader exists yet
  scan.end_position = position;
  scan.next_offset = offset;
  return scan;
}

bool Segment::indexed_batches_intact(bool active) const noexcept {
  // relaxed: recovery runs before any reader exists.
  const std::size_t entries = offset_entries_.load(std::memory_order_relaxed);
  if (entries == 0) return true;
  const std::size_t end = offset_entry(entries - 1).position;
  const bool may_skip = config_.offsets_may_skip && !active;  // as in scan_from
  std::size_t position = 0;
  std::int64_t offset = base_offset_;
  while (position < end) {
    const codec::ParsedBatch parsed =
        codec::parse_batch({log_map_ + position, log_bytes_ - position}, true);
    if (parsed.status != codec::DecodeStatus::ok) return false;
    const std::int64_t base = parsed.batch.base_offset();
    if (base != offset && !(may_skip && base > offset)) return false;
    offset = parsed.batch.next_offset();
    position += codec::padded_batch_size(parsed.batch.size_bytes());
  }
  // The walk must land on the last entry exactly, at the offset it names.
  return position == end &&
         offset == base_offset_ + offset_entry(entries - 1).relative_offset;
}

bool Segment::valid_batch_at_or_after(std::size_t position) const noexcept {
  return codec::find_whole_batch({log_map_, log_bytes_}, position, std::numeric_limits<std::int64_t>::min())
      .has_value();
}

std::size_t Segment::discard_tail() {
  settle_indexes();
  std::size_t end = log_bytes_;
  while (end > write_position_ && log_map_[end - 1] == std::byte{0}) --end;
  if (end > write_position_) {
    std::memset(log_map_ + write_position_, 0, end - write_position_);
    fs_.sync(log_file_, log_map_, write_position_, end - write_position_);
  }
  // Index entries past the end were dropped by scan_from.
  return end - write_position_;
}

void Segment::copy_log_to(const std::string& path) {
  File copy = fs_.open(path, OpenMode::create_or_open);
  try {
    fs_.truncate(copy, 0);
    fs_.write(copy, 0, {log_map_, log_bytes_});
    fs_.sync(copy, nullptr, 0, 0);
  } catch (...) {
    fs_.close(copy);
    throw;
  }
  fs_.close(copy);
}

}  // namespace rill::log
