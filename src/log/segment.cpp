// Segment: files, append, sync and reads (segment.hpp). Index access is in
// segment_index.cpp, recovery in segment_recovery.cpp.
#include "log/segment.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "codec/batch_reader.hpp"
#include "log/crash_point.hpp"
#include "rill/error.hpp"

namespace rill::log {

namespace {

constexpr std::int64_t kNoMaxTimestamp = std::numeric_limits<std::int64_t>::min();

constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept {
  return (n + to - 1) / to * to;
}

// Header fields of a committed batch, read without checks: the header was
// checked when appended or recovered (readers bound the length with
// header_at for the older batches of a closed segment, not re-verified).
struct CommittedHeader {
  std::int64_t base;
  std::int64_t last;
  std::int32_t last_offset_delta;
  std::int64_t max_timestamp;
  std::size_t length;
};

CommittedHeader committed_header(const std::byte* p) noexcept {
  using codec::BatchHeader;
  const auto base = codec::load_field<std::int64_t>(p, offsetof(BatchHeader, base_offset));
  const auto delta = codec::load_field<std::int32_t>(p, offsetof(BatchHeader, last_offset_delta));
  // Wrapping: a damaged header in a closed segment must not overflow.
  const auto last = static_cast<std::int64_t>(static_cast<std::uint64_t>(base) +
                                              static_cast<std::uint64_t>(std::int64_t{delta}));
  return CommittedHeader{base, last, delta,
                         codec::load_field<std::int64_t>(p, offsetof(BatchHeader, max_timestamp)),
                         codec::load_field<std::uint32_t>(p, offsetof(BatchHeader, batch_length))};
}

}  // namespace

std::string segment_stem(std::int64_t base_offset) {
  return fmt::format("{:0{}}", base_offset, kOffsetDigits);
}

std::optional<std::int64_t> parse_segment_log_name(std::string_view name) noexcept {
  if (name.size() != kOffsetDigits + kLogSuffix.size() || !name.ends_with(kLogSuffix)) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  const char* first = name.data();
  const char* last = first + kOffsetDigits;
  if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  const auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc() || end != last) return std::nullopt;
  return value;
}

Segment::Segment(FileSystem& fs, std::string dir, std::int64_t base_offset,
                 const SegmentConfig& config, std::string_view name_suffix)
    : fs_(fs),
      dir_(std::move(dir)),
      base_offset_(base_offset),
      config_(config),
      name_suffix_(name_suffix),
      next_offset_(base_offset),
      time_index_max_(kNoMaxTimestamp),
      max_timestamp_(kNoMaxTimestamp) {
  if (config.segment_bytes < kMinSegmentBytes || config.segment_bytes > kMaxSegmentBytes ||
      config.segment_bytes % kFileGranule != 0) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("segment size {} bytes: use a multiple of {} between {} and {}",
                            config.segment_bytes, kFileGranule, kMinSegmentBytes, kMaxSegmentBytes));
  }
  if (config.index_interval_bytes < codec::kBatchHeaderSize) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("index interval {} bytes: use at least {}",
                            config.index_interval_bytes, codec::kBatchHeaderSize));
  }
  if (base_offset < 0) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("segment base offset {}: must not be negative", base_offset));
  }
}

std::shared_ptr<Segment> Segment::create(FileSystem& fs, const std::string& dir,
                                         std::int64_t base_offset, const SegmentConfig& config,
                                         std::string_view name_suffix) {
  std::shared_ptr<Segment> segment(new Segment(fs, dir, base_offset, config, name_suffix));
  try {
    segment->open_files(OpenMode::create_or_open, true, true);
  } catch (...) {
    // Leave no half-made segment behind (best effort: the error that matters
    // is the one being rethrown).
    const std::string stem = join_path(dir, segment_stem(base_offset));
    segment.reset();
    for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
      const std::string path = stem + std::string(suffix) + std::string(name_suffix);
      try {
        if (fs.exists(path)) fs.unlink(path);
      } catch (const Error&) {
      }
    }
    throw;
  }
  return segment;
}

std::shared_ptr<Segment> Segment::open(FileSystem& fs, const std::string& dir,
                                       std::int64_t base_offset, const SegmentConfig& config,
                                       bool grow) {
  std::shared_ptr<Segment> segment(new Segment(fs, dir, base_offset, config, {}));
  segment->open_files(OpenMode::existing, false, grow);
  return segment;
}

std::string Segment::file_path(std::string_view suffix) const {
  return join_path(dir_, segment_stem(base_offset_)) + std::string(suffix) + name_suffix_;
}

void Segment::open_files(OpenMode mode, bool fresh, bool grow) {
  log_file_ = fs_.open(file_path(kLogSuffix), mode);
  if (fresh) fs_.truncate(log_file_, 0);
  const std::uint64_t size = fresh ? 0 : fs_.file_size(log_file_);
  log_bytes_ = round_up(size, kFileGranule);
  if (grow || log_bytes_ == 0) log_bytes_ = std::max(log_bytes_, config_.segment_bytes);
  log_bytes_ = std::min(log_bytes_, kMaxSegmentBytes);
  // Growing an unmapped file is safe; the new bytes read as zeros.
  if (size < log_bytes_) fs_.allocate(log_file_, log_bytes_);
  log_map_ = fs_.map(log_file_, log_bytes_);
  map_index_files(fresh);
}

void Segment::map_index_files(bool fresh) {
  const std::size_t entries = log_bytes_ / config_.index_interval_bytes + 2;
  index_bytes_ = round_up(entries * sizeof(OffsetIndexEntry), kFileGranule);
  time_bytes_ = round_up(entries * sizeof(TimeIndexEntry), kFileGranule);
  index_file_ = fs_.open(file_path(kIndexSuffix), OpenMode::create_or_open);
  time_file_ = fs_.open(file_path(kTimeIndexSuffix), OpenMode::create_or_open);
  // Indexes are derived data: one of another size is discarded (not mapped
  // yet, so resizing it is safe) and rebuilt by recovery.
  for (auto [file, bytes] : {std::pair{&index_file_, index_bytes_}, {&time_file_, time_bytes_}}) {
    if (fresh || fs_.file_size(*file) != bytes) {
      indexes_reset_ = !fresh;
      fs_.truncate(*file, 0);
      fs_.allocate(*file, bytes);
    }
  }
  index_map_ = fs_.map(index_file_, index_bytes_);
  time_map_ = fs_.map(time_file_, time_bytes_);
}

Segment::~Segment() {
  fs_.unmap(log_map_, log_bytes_);
  fs_.unmap(index_map_, index_bytes_);
  fs_.unmap(time_map_, time_bytes_);
  fs_.close(log_file_);
  fs_.close(index_file_);
  fs_.close(time_file_);
}

SegmentAppend Segment::try_append(std::span<const std::byte> batch) noexcept {
  const std::size_t padded = codec::padded_batch_size(batch.size());
  const CommittedHeader header = committed_header(batch.data());
  const std::int64_t last = next_offset_ + header.last_offset_delta;
  if (padded > log_bytes_ - write_position_ ||
      last - base_offset_ > std::int64_t{std::numeric_limits<std::uint32_t>::max()}) {
    return SegmentAppend::full;
  }
  const std::size_t position = write_position_;
  note_batch(position, next_offset_, header.max_timestamp, padded);
  std::byte* out = log_map_ + position;
  std::memcpy(out, batch.data(), batch.size());
  codec::set_base_offset(std::span<std::byte>(out, batch.size()), next_offset_);
  detail::crash_point("segment.mid_append");  // copied, not yet published
  // The padding is already zero: the file is preallocated with zeros and
  // recovery zero-fills anything it truncates.
  publish(position + padded, last + 1);
  return SegmentAppend::ok;
}

void Segment::note_batch(std::size_t position, std::int64_t base,
                         std::int64_t batch_max_timestamp, std::size_t padded_size) noexcept {
  if (bytes_since_index_ >= config_.index_interval_bytes) {
    const auto relative = static_cast<std::uint32_t>(base - base_offset_);
    append_offset_entry(relative, static_cast<std::uint32_t>(position));
    // The running maximum includes this batch (documented in segment_format.hpp).
    const std::int64_t running_max = std::max(max_timestamp(), batch_max_timestamp);
    if (running_max > time_index_max_) append_time_entry(running_max, relative);
    bytes_since_index_ = 0;
  }
  bytes_since_index_ += padded_size;
  if (batch_max_timestamp > max_timestamp()) {
    // relaxed: see max_timestamp(); only this writer stores it.
    max_timestamp_.store(batch_max_timestamp, std::memory_order_relaxed);
  }
}

void Segment::publish(std::size_t position, std::int64_t next_offset) noexcept {
  write_position_ = position;
  next_offset_ = next_offset;
  // release: the batch bytes (and index entries) written above happen before
  // any reader's acquire load of committed_position_ that sees `position`
  // (committed_bytes(), read_from, offset_for_timestamp).
  committed_position_.store(position, std::memory_order_release);
}

void Segment::sync() {
  const auto [from, to] = unsynced_range();
  if (from >= to) return;
  sync_range(from, to);
}

void Segment::sync_range(std::size_t from, std::size_t to) {
  if (from >= to) return;
  fs_.sync(log_file_, log_map_, from, to - from);
  // relaxed: raise to `to` unless another sync got further (see
  // unsynced_range); the durable offset is published by the partition.
  std::size_t seen = synced_position_.load(std::memory_order_relaxed);
  while (seen < to && !synced_position_.compare_exchange_weak(seen, to, std::memory_order_relaxed)) {
  }
}

const std::byte* Segment::header_at(std::size_t position, std::size_t committed) const noexcept {
  // Committed bytes were checked when appended, or at open from the last
  // index entry on; older bytes of a closed segment are not re-verified, so
  // a length that would leave the committed range ends the walk instead of
  // reading outside the mapping.
  if (committed - position < codec::kBatchHeaderSize) return nullptr;
  const std::byte* p = log_map_ + position;
  const std::size_t length = committed_header(p).length;
  if (length < codec::kBatchHeaderSize || length > committed - position) return nullptr;
  return p;
}

std::span<const std::byte> Segment::read_from(std::int64_t offset, std::size_t max_bytes,
                                              ReadDamage* damage, ChecksumCheck check) const noexcept {
  // acquire: pairs with the release in publish(); bytes below are complete.
  const std::size_t committed = committed_position_.load(std::memory_order_acquire);
  if (damage != nullptr) *damage = {};
  if (offset < base_offset_) return {};
  const IndexHit hit = index_lookup(offset, committed);
  std::size_t position = hit.position;
  // The offset the batch at `position` must start with: index entries were
  // checked against the log at open or written with their batch.
  std::int64_t expected = hit.offset;
  std::size_t start = committed;  // of the first batch returned
  std::size_t end = committed;    // of the last whole batch returned (no padding)
  const char* reason = nullptr;
  std::int64_t next_whole = -1;  // base offset of the first whole batch after the damage
  while (position < committed) {
    const std::span<const std::byte> rest{log_map_ + position, committed - position};
    const bool returned = start != committed;  // the batch holding `offset` was found
    // Older bytes of a closed segment were not re-verified at open: every
    // header passed is checked, so a bad length never leads the walk off.
    const codec::ParsedBatch parsed = codec::parse_batch(rest, false);
    if (parsed.status != codec::DecodeStatus::ok) {
      reason = parsed.status == codec::DecodeStatus::incomplete ? "the batch runs past the committed bytes"
                                                                : parsed.error.reason;
    } else if (parsed.batch.base_offset() != expected &&
               !(config_.offsets_may_skip && parsed.batch.base_offset() > expected)) {
      reason = "base offset does not follow the previous batch";
    }
    if (reason != nullptr) {
      // Damage before the offset asked for (a deliberate seek past it):
      // the walk goes on at the next whole batch, if that one does not
      // start after the offset (which would then lie in the damaged bytes).
      const std::optional<codec::WholeBatch> next =
          returned ? std::nullopt
                   : codec::find_whole_batch({log_map_, committed}, position + codec::kBatchAlignment, expected);
      if (next && next->base_offset <= offset) {
        reason = nullptr;
        position = next->position;
        expected = next->base_offset;
        continue;
      }
      if (next) next_whole = next->base_offset;
      break;
    }
    const codec::BatchView& batch = parsed.batch;
    const std::size_t length = batch.size_bytes();
    if (!returned && batch.last_offset() < offset) {  // before the offset asked for
      expected = batch.next_offset();
      position += codec::padded_batch_size(length);
      continue;
    }
    if (returned && position + length - start > max_bytes) break;
    if (check == ChecksumCheck::on && codec::compute_checksum(rest.first(length)) != batch.checksum()) {
      reason = "checksum mismatch";
      // The header is sound, so the next batch starts where it says.
      if (!returned) next_whole = batch.next_offset();
      break;
    }
    if (!returned) start = position;
    end = position + length;
    expected = batch.next_offset();
    position += codec::padded_batch_size(length);
  }
  if (reason != nullptr && damage != nullptr) *damage = {position, reason, next_whole};
  if (start == committed) return {};
  return {log_map_ + start, end - start};
}

std::optional<std::int64_t> Segment::offset_for_timestamp(std::int64_t timestamp) const noexcept {
  // acquire: pairs with the release in publish().
  const std::size_t committed = committed_position_.load(std::memory_order_acquire);
  std::size_t position = time_lookup(timestamp, committed);
  const std::byte* p = nullptr;
  while (position < committed && (p = header_at(position, committed)) != nullptr) {
    const CommittedHeader header = committed_header(p);
    if (header.max_timestamp >= timestamp) return header.base;
    position += codec::padded_batch_size(header.length);
  }
  return std::nullopt;
}

}  // namespace rill::log
