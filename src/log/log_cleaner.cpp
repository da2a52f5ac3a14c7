// LogCleaner: compaction of a partition's closed segments (log_cleaner.hpp).
#include "log/log_cleaner.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "codec/batch_format.hpp"
#include "log/crash_point.hpp"
#include "rill/detail/varint.hpp"
#include "rill/error.hpp"

namespace rill::log {
namespace {

constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept {
  return (n + to - 1) / to * to;
}

// How often (in batches) the long walks look at the stop flag.
constexpr std::size_t kStopCheckBatches = 64;

}  // namespace

CompactionResult SegmentLog::compact(const CompactionOptions& options, std::mutex& writer_mutex) {
  std::lock_guard<std::mutex> lock(cleaner_mutex_);
  return LogCleaner(*this, options, writer_mutex).run();
}

std::size_t LogCleaner::KeyHash::operator()(std::string_view key) const noexcept {
  return static_cast<std::size_t>(XXH3_64bits(key.data(), key.size()));
}

LogCleaner::LogCleaner(SegmentLog& log, const CompactionOptions& options, std::mutex& writer_mutex)
    : log_(log),
      options_(options),
      writer_mutex_(writer_mutex),
      tombstone_deadline_(options.now_ms - options.tombstone_retention.count()) {}

bool LogCleaner::stop_requested() const noexcept {
  // relaxed: a request to stop soon; nothing is published through it.
  return options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed);
}

bool LogCleaner::recover_folder(FileSystem& fs, const std::string& dir, const LogHook& hook) {
  bool removed = false;
  for (const std::string& name : fs.list_directory(dir)) {
    if (!std::string_view(name).ends_with(kCleanedSuffix)) continue;
    const std::string path = join_path(dir, name);
    fs.unlink(path);
    hook(fmt::format("{}: left by an interrupted compaction (the original is intact); deleted", path));
    removed = true;
  }
  if (removed) fs.sync_directory(dir);
  return fs.exists(join_path(dir, std::string(kCompactedMarker)));
}

CompactionResult LogCleaner::run() {
  Segments segments;
  {
    std::lock_guard<std::mutex> lock(log_.segments_mutex_);
    segments = log_.segments_;
  }
  CompactionResult result;
  if (segments.size() < 2) return result;  // only the active segment: nothing closed
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (!index_keys(*segments[i], i + 1 < segments.size())) {
      result.stopped = true;
      return result;
    }
  }
  std::vector<std::byte> kept;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    if (stop_requested()) {
      result.stopped = true;
      break;
    }
    kept.clear();
    const std::uint64_t dropped = filter_segment(*segments[i], kept);
    if (dropped == 0) continue;
    result.records_removed += dropped;
    result.bytes_before += segments[i]->committed_bytes();
    result.bytes_after += kept.size();
    // The first segment stays, even empty, so that start_offset holds.
    if (kept.empty() && i != 0) {
      remove(segments[i]);
      ++result.segments_removed;
    } else {
      replace(segments[i], kept);
      ++result.segments_rewritten;
    }
  }
  return result;
}

std::span<const std::byte> LogCleaner::batches_of(const Segment& segment, bool closed) const {
  // Checksums too: a copy of a damaged batch would carry a fresh checksum
  // and hide the damage for good.
  ReadDamage damage;
  const std::span<const std::byte> bytes = segment.read_from(
      segment.base_offset(), std::numeric_limits<std::size_t>::max(), &damage, ChecksumCheck::on);
  // A closed segment's batches run from byte 0 to its committed end; a
  // shorter walk met damage.
  if (damage.found() || (closed && codec::padded_batch_size(bytes.size()) != segment.committed_bytes())) {
    throw Error(ErrorCode::corrupt,
                fmt::format("{}: the batch at byte {} is damaged ({}); compaction leaves the segment "
                            "as it is (rill verify --repair cuts the log there)",
                            segment.log_path(), damage.found() ? damage.position : bytes.size(),
                            damage.found() ? damage.reason : "the batches end before the segment does"));
  }
  return bytes;
}

bool LogCleaner::index_keys(const Segment& segment, bool closed) {
  std::span<const std::byte> bytes = batches_of(segment, closed);
  codec::DecodedRecord record;
  for (std::size_t walked = 0; !bytes.empty(); ++walked) {
    if (walked % kStopCheckBatches == 0 && stop_requested()) return false;
    const std::size_t position = segment.committed_bytes() - bytes.size();
    const codec::ParsedBatch parsed = codec::parse_batch(bytes, closed);
    if (parsed.status != codec::DecodeStatus::ok) {
      throw Error(ErrorCode::corrupt,
                  fmt::format("{}: the batch near byte {} fails its checks ({}); compaction leaves "
                              "the segment as it is",
                              segment.log_path(), position, parsed.error.reason));
    }
    bytes = bytes.subspan(std::min(bytes.size(), codec::padded_batch_size(parsed.batch.size_bytes())));
    if ((parsed.batch.attributes() & codec::kAttrControl) != 0) continue;
    codec::RecordReader reader(parsed.batch);
    codec::DecodeStatus status;
    while ((status = reader.next(record)) == codec::DecodeStatus::ok) {
      if (record.key) newest_.insert_or_assign(*record.key, record.offset);
    }
    if (status == codec::DecodeStatus::corrupt) {
      throw Error(ErrorCode::corrupt,
                  fmt::format("{}: the batch at offset {} holds a damaged record ({}); compaction "
                              "leaves the segment as it is",
                              segment.log_path(), parsed.batch.base_offset(), reader.error().reason));
    }
  }
  return true;
}

bool LogCleaner::keep(const codec::DecodedRecord& record) const noexcept {
  if (!record.key) return true;  // keyless: compaction has nothing to compare it with
  const auto it = newest_.find(*record.key);
  if (it == newest_.end() || it->second != record.offset) return false;  // superseded
  return record.value.has_value() || record.timestamp >= tombstone_deadline_;
}

bool LogCleaner::has_something_to_drop(const Segment& segment) const {
  std::span<const std::byte> bytes = batches_of(segment, true);
  codec::DecodedRecord record;
  while (!bytes.empty()) {
    const codec::BatchView batch = next_batch(bytes);
    if (!batch.valid()) break;  // index_keys checked every header: not reached
    if ((batch.attributes() & codec::kAttrControl) != 0) continue;
    codec::RecordReader reader(batch);
    while (reader.next(record) == codec::DecodeStatus::ok) {
      if (!keep(record)) return true;
    }
  }
  return false;
}

std::uint64_t LogCleaner::filter_segment(const Segment& segment, std::vector<std::byte>& out) {
  // A segment already compacted stays as it is, without a copy.
  if (!has_something_to_drop(segment)) return 0;
  // The checksums were verified by index_keys in this pass.
  std::span<const std::byte> bytes = batches_of(segment, true);
  std::uint64_t dropped = 0;
  while (!bytes.empty()) {
    const codec::BatchView batch = next_batch(bytes);
    if (!batch.valid()) break;  // index_keys checked every header: not reached
    dropped += filter_batch(batch, out);
  }
  return dropped;
}

std::uint64_t LogCleaner::filter_batch(const codec::BatchView& batch, std::vector<std::byte>& out) const {
  const std::span<const std::byte> whole = batch.bytes().first(batch.size_bytes());
  const std::size_t start = out.size();
  if ((batch.attributes() & codec::kAttrControl) != 0) {
    out.insert(out.end(), whole.begin(), whole.end());
    out.resize(codec::padded_batch_size(out.size()), std::byte{0});
    return 0;
  }
  out.insert(out.end(), whole.begin(), whole.begin() + codec::kBatchHeaderSize);
  // Records are walked twice in step: RecordReader decodes (and checked
  // them in index_keys), the raw cursor finds each record's encoded bytes.
  const std::byte* raw = whole.data() + codec::kBatchHeaderSize;
  const std::byte* const end = whole.data() + whole.size();
  codec::RecordReader reader(batch);
  codec::DecodedRecord record;
  std::uint32_t kept = 0;
  std::uint64_t dropped = 0;
  while (reader.next(record) == codec::DecodeStatus::ok) {
    std::int64_t length = 0;
    const std::byte* body = rill::detail::read_varlong(raw, end, length);
    const std::byte* const next = body + length;
    if (keep(record)) {
      out.insert(out.end(), raw, next);
      ++kept;
    } else {
      ++dropped;
    }
    raw = next;
  }
  if (kept == 0) {
    out.resize(start);
    return dropped;
  }
  const std::span<std::byte> rebuilt(out.data() + start, out.size() - start);
  codec::store_field(rebuilt.data(), offsetof(codec::BatchHeader, record_count), kept);
  codec::store_field(rebuilt.data(), offsetof(codec::BatchHeader, batch_length),
                     static_cast<std::uint32_t>(rebuilt.size()));
  codec::store_field(rebuilt.data(), offsetof(codec::BatchHeader, checksum),
                     codec::compute_checksum(rebuilt));
  out.resize(codec::padded_batch_size(out.size()), std::byte{0});
  return dropped;
}

std::shared_ptr<Segment> LogCleaner::write_copy(std::int64_t base, std::span<const std::byte> kept) {
  SegmentConfig config = log_.segment_config_;
  config.segment_bytes = std::max(kFileGranule, round_up(kept.size(), kFileGranule));
  std::shared_ptr<Segment> copy = Segment::create(log_.fs_, log_.dir_, base, config, kCleanedSuffix);
  while (!kept.empty()) {
    const codec::BatchView batch = next_batch(kept);
    copy->skip_to(batch.base_offset());
    if (copy->try_append(batch.bytes().first(batch.size_bytes())) != SegmentAppend::ok) {
      throw Error(ErrorCode::io, fmt::format("{}: the compacted copy does not fit its own file",
                                             copy->log_path()));
    }
  }
  copy->sync();
  return copy;
}

void LogCleaner::replace(const std::shared_ptr<Segment>& old, std::span<const std::byte> kept) {
  FileSystem& fs = log_.fs_;
  const std::int64_t base = old->base_offset();
  const std::string stem = join_path(log_.dir_, segment_stem(base));
  try {
    write_copy(base, kept).reset();  // written, synced and closed
  } catch (...) {
    for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
      const std::string path = stem + std::string(suffix) + std::string(kCleanedSuffix);
      try {
        if (fs.exists(path)) fs.unlink(path);
      } catch (const Error&) {
        // Best effort: open deletes any leftover.
      }
    }
    throw;
  }
  mark_compacted();
  detail::crash_point("cleaner.before_rename");  // copy written and synced, not renamed
  // The log first: indexes are checked against the log at open, so an old
  // index beside a new log (or the reverse) is rebuilt, never trusted.
  for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
    fs.rename(stem + std::string(suffix) + std::string(kCleanedSuffix), stem + std::string(suffix));
  }
  fs.sync_directory(log_.dir_);
  SegmentConfig config = log_.segment_config_;
  config.offsets_may_skip = true;
  std::shared_ptr<Segment> fresh = Segment::open(fs, log_.dir_, base, config, false);
  const SegmentScan scan = fresh->recover(false);
  if (scan.damaged) {
    throw Error(ErrorCode::corrupt, fmt::format("{}: the compacted copy reads back damaged at byte {} ({})",
                                                fresh->log_path(), scan.damage_position, scan.reason));
  }
  swap_in_list(old, std::move(fresh));
}

void LogCleaner::remove(const std::shared_ptr<Segment>& old) {
  FileSystem& fs = log_.fs_;
  mark_compacted();
  const std::string stem = join_path(log_.dir_, segment_stem(old->base_offset()));
  // Indexes first: a log left without them is rebuilt at open.
  for (std::string_view suffix : {kIndexSuffix, kTimeIndexSuffix, kLogSuffix}) {
    const std::string path = stem + std::string(suffix);
    if (fs.exists(path)) fs.unlink(path);
  }
  fs.sync_directory(log_.dir_);
  swap_in_list(old, nullptr);
}

void LogCleaner::mark_compacted() {
  FileSystem& fs = log_.fs_;
  const std::string path = join_path(log_.dir_, std::string(kCompactedMarker));
  if (fs.exists(path)) return;
  File marker = fs.open(path, OpenMode::create_or_open);
  fs.close(marker);
  // Durable before any gap it allows reaches the disk.
  fs.sync_directory(log_.dir_);
}

void LogCleaner::swap_in_list(const std::shared_ptr<Segment>& old, std::shared_ptr<Segment> fresh) {
  // The writer reads the list without the segments mutex (it alone used
  // to change it): its mutex keeps it out while the list changes.
  std::lock_guard<std::mutex> writer(writer_mutex_);
  std::lock_guard<std::mutex> lock(log_.segments_mutex_);
  auto& list = log_.segments_;
  const auto it = std::find(list.begin(), list.end(), old);
  if (it == list.end()) return;  // not reached: retention waits for the pass
  if (fresh) {
    *it = std::move(fresh);
  } else {
    list.erase(it);
  }
  // `old` stays alive in the pass's snapshot: no unmap under these locks.
}

}  // namespace rill::log
