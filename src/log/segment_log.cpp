// SegmentLog: append, read, sync and retention (partition_log.hpp).
// Opening and recovery are in partition_recovery.cpp.
#include "log/segment_log.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "log/crash_point.hpp"
#include "log/recovery_point.hpp"
#include "rill/error.hpp"

namespace rill::log {

codec::BatchView next_batch(std::span<const std::byte>& bytes) noexcept {
  if (bytes.size() < codec::kBatchHeaderSize) {
    bytes = {};
    return {};
  }
  const codec::ParsedBatch parsed = codec::parse_batch(bytes, false);
  if (parsed.status != codec::DecodeStatus::ok) {
    bytes = {};
    return {};
  }
  const std::size_t padded = codec::padded_batch_size(parsed.batch.size_bytes());
  bytes = bytes.subspan(std::min(padded, bytes.size()));
  return parsed.batch;
}

SegmentLog::SegmentLog(const std::string& dir, const SegmentLogOptions& options,
                           FileSystem& fs, LogHook hook)
    : dir_(dir),
      options_(options),
      segment_config_{options.segment_bytes, options.index_interval_bytes},
      fs_(fs),
      hook_(std::move(hook)),
      last_sync_(std::chrono::steady_clock::now()) {
  if (!hook_) {
    hook_ = [](const std::string& line) { std::fprintf(stderr, "rill: %s\n", line.c_str()); };
  }
  if (options.initial_offset < 0) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("partition \"{}\": initial offset {} must not be negative", dir,
                            options.initial_offset));
  }
  if (options.fsync_policy == FsyncPolicy::interval && options.fsync_interval.count() <= 0) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("partition \"{}\": fsync interval must be positive", dir));
  }
}

std::unique_ptr<SegmentLog> SegmentLog::open(const std::string& dir,
                                                 const SegmentLogOptions& options,
                                                 FileSystem& fs, LogHook hook) {
  std::unique_ptr<SegmentLog> log(new SegmentLog(dir, options, fs, std::move(hook)));
  log->recover();
  log->load_producer_state();
  return log;
}

SegmentLog::~SegmentLog() = default;

void SegmentLog::check_writable() const {
  if (failed()) {
    throw Error(ErrorCode::io,
                fmt::format("partition \"{}\": a sync failed earlier, so written data may be "
                            "lost; the log refuses writes until it is reopened",
                            dir_));
  }
}

Appended SegmentLog::append(std::span<const std::byte> batch, std::int64_t record_count,
                                  SyncMode mode) {
  check_writable();
  const codec::ParsedBatch parsed = codec::parse_batch(batch, false);
  if (parsed.status != codec::DecodeStatus::ok || parsed.batch.size_bytes() != batch.size()) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("partition \"{}\": append of {} bytes that are not one whole batch",
                            dir_, batch.size()));
  }
  if (record_count != std::int64_t{parsed.batch.last_offset_delta()} + 1) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("partition \"{}\": record count {} does not match the batch, which "
                            "covers {} offsets",
                            dir_, record_count, parsed.batch.last_offset_delta() + 1));
  }
  if (codec::padded_batch_size(batch.size()) > options_.segment_bytes) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("partition \"{}\": a batch of {} bytes cannot fit a segment of {} "
                            "bytes (raise segment_bytes)",
                            dir_, batch.size(), options_.segment_bytes));
  }
  if (auto duplicate = check_producer(parsed.batch, record_count)) return *duplicate;
  // Only the writer changes the list, so it reads back() without the mutex.
  Segment* active = segments_.back().get();
  std::int64_t base = active->next_offset();
  if (active->try_append(batch) == SegmentAppend::full) {
    roll();
    active = segments_.back().get();
    base = active->next_offset();
    if (active->try_append(batch) == SegmentAppend::full) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("partition \"{}\": batch of {} bytes does not fit a new segment",
                              dir_, batch.size()));
    }
  }
  publish_end(active->next_offset());
  producer_state_.record(parsed.batch.producer(), record_count, base);
  const bool sync_due =
      (options_.fsync_policy == FsyncPolicy::every_batch && mode == SyncMode::policy) ||
      (options_.fsync_policy == FsyncPolicy::interval &&
       std::chrono::steady_clock::now() - last_sync_ >= options_.fsync_interval);
  if (sync_due) sync();
  return Appended{base, durable_end_offset()};
}

void SegmentLog::publish_end(std::int64_t end) noexcept {
  // release: pairs with the acquire in end_offset(); the segment already
  // published the bytes with its own release (Segment::publish).
  end_offset_.store(end, std::memory_order_release);
}

void SegmentLog::publish_durable_end(std::int64_t end) noexcept {
  // A writer's sync and a complete_sync may finish in either order: keep
  // the larger end. release: pairs with the acquire in durable_end_offset().
  std::int64_t seen = durable_end_offset_.load(std::memory_order_relaxed);
  while (seen < end &&
         !durable_end_offset_.compare_exchange_weak(seen, end, std::memory_order_release,
                                                    std::memory_order_relaxed)) {
  }
}

void SegmentLog::mark_failed() noexcept {
  // release: pairs with the acquire in failed().
  failed_.store(true, std::memory_order_release);
}

void SegmentLog::sync_active() {
  const auto sync_started = LogCounters::Clock::now();
  try {
    // Older segments have unsynced bytes only under FsyncPolicy::none.
    for (const auto& segment : segments_) segment->sync();
  } catch (const Error&) {
    counters_.add_sync_failure();
    mark_failed();
    throw;
  }
  last_sync_ = std::chrono::steady_clock::now();
  counters_.add_sync(last_sync_ - sync_started);
  publish_durable_end(segments_.back()->next_offset());
}

SyncTicket SegmentLog::prepare_sync() {
  check_writable();
  SyncTicket ticket;
  for (const auto& segment : segments_) {
    const auto [from, to] = segment->unsynced_range();
    if (from < to) ticket.ranges.push_back({segment, from, to});
  }
  ticket.end_offset = segments_.back()->next_offset();
  last_sync_ = std::chrono::steady_clock::now();
  return ticket;
}

void SegmentLog::complete_sync(const SyncTicket& ticket) {
  check_writable();
  const auto sync_started = LogCounters::Clock::now();
  try {
    for (const SyncTicket::Range& range : ticket.ranges) range.segment->sync_range(range.from, range.to);
  } catch (const Error&) {
    counters_.add_sync_failure();
    mark_failed();
    throw;
  }
  if (!ticket.ranges.empty()) counters_.add_sync(LogCounters::Clock::now() - sync_started);
  publish_durable_end(ticket.end_offset);
}

void SegmentLog::sync() {
  check_writable();
  sync_active();
}

void SegmentLog::checkpoint() {
  check_writable();
  write_recovery_point(fs_, dir_, {fs_.boot_id(), durable_end_offset()});
}

void SegmentLog::roll() {
  if (options_.fsync_policy != FsyncPolicy::none) {
    sync_active();
    try {
      checkpoint();
    } catch (const std::exception& e) {
      // The log itself is synced; a recovery point that lags only means a
      // restart may cut more of an unsynced tail (recovery_point.hpp).
      hook_(fmt::format("{}: recovery point not updated ({}); it stays at an older offset", dir_,
                        e.what()));
    }
  }
  const std::int64_t base = segments_.back()->next_offset();
  std::shared_ptr<Segment> next = Segment::create(fs_, dir_, base, segment_config_);
  detail::crash_point("log.mid_roll");  // files made, directory not synced
  fs_.sync_directory(dir_);
  snapshot_producer_state(base);  // the table covers every batch below `base`
  std::lock_guard<std::mutex> lock(segments_mutex_);
  segments_.push_back(std::move(next));
}

std::size_t SegmentLog::enforce_retention(std::int64_t now_ms) {
  // A compaction pass is replacing segments: skip this turn, never wait.
  std::unique_lock<std::mutex> no_cleaner(cleaner_mutex_, std::try_to_lock);
  if (!no_cleaner.owns_lock()) return 0;
  std::size_t total = 0;
  for (const auto& segment : segments_) total += segment->committed_bytes();
  std::size_t deleted = 0;
  while (segments_.size() > 1) {
    const Segment& oldest = *segments_.front();
    const bool over_size = options_.retention_bytes > 0 &&
                           total - oldest.committed_bytes() >= options_.retention_bytes;
    const bool too_old = options_.retention_age.count() > 0 &&
                         oldest.max_timestamp() < now_ms - options_.retention_age.count();
    if (!over_size && !too_old) break;
    std::shared_ptr<Segment> removed;
    {
      std::lock_guard<std::mutex> lock(segments_mutex_);
      removed = std::move(segments_.front());
      segments_.erase(segments_.begin());
      // release: pairs with the acquire in start_offset().
      start_offset_.store(segments_.front()->base_offset(), std::memory_order_release);
    }
    total -= removed->committed_bytes();
    delete_segment_files(*removed);
    ++deleted;
  }
  if (deleted > 0) fs_.sync_directory(dir_);
  if (deleted > 0) drop_producer_snapshots_below(start_offset());
  return deleted;
}

void SegmentLog::delete_segment_files(const Segment& segment) {
  const std::string stem = join_path(dir_, segment_stem(segment.base_offset()));
  // The mapping stays valid for readers still holding the segment.
  fs_.unlink(stem + std::string(kLogSuffix));
  detail::crash_point("log.mid_retention");  // .log gone, indexes not yet
  for (std::string_view suffix : {kIndexSuffix, kTimeIndexSuffix}) {
    const std::string path = stem + std::string(suffix);
    if (fs_.exists(path)) fs_.unlink(path);
  }
}

ReadResult SegmentLog::read(std::int64_t offset, std::size_t max_bytes, ChecksumCheck check) const {
  // Loaded first: every offset below it is in the list taken below.
  const std::int64_t end = end_offset();
  for (std::int64_t at = offset;;) {
    std::shared_ptr<const Segment> segment;
    std::optional<std::int64_t> next_base;  // of the segment after it, if any
    {
      std::lock_guard<std::mutex> lock(segments_mutex_);
      if (at < segments_.front()->base_offset()) {
        return ReadResult{ReadStatus::below_start, nullptr, {}, {}};
      }
      // The last segment whose base offset is <= at.
      const auto it = std::upper_bound(
          segments_.begin(), segments_.end(), at,
          [](std::int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
      segment = *(it - 1);
      if (it != segments_.end()) next_base = (*it)->base_offset();
    }
    ReadDamage damage;
    const std::span<const std::byte> bytes = segment->read_from(at, max_bytes, &damage, check);
    if (!bytes.empty()) return ReadResult{ReadStatus::ok, std::move(segment), bytes, {}};
    if (damage.found()) return ReadResult{ReadStatus::corrupt, std::move(segment), {}, damage};
    // Compaction may leave no batch at or after `at` in this segment: the
    // next segment holds the following offsets.
    if (next_base) {
      at = *next_base;
      continue;
    }
    if (at >= end) return ReadResult{ReadStatus::at_end, nullptr, {}, {}};
    // Committed, yet no batch holds it: the segment's batches end short.
    const ReadDamage short_end{segment->committed_bytes(), "offsets missing at the end of the segment"};
    return ReadResult{ReadStatus::corrupt, std::move(segment), {}, short_end};
  }
}

std::optional<std::int64_t> SegmentLog::offset_for_timestamp(std::int64_t timestamp) const {
  std::vector<std::shared_ptr<const Segment>> segments;
  {
    std::lock_guard<std::mutex> lock(segments_mutex_);
    segments.assign(segments_.begin(), segments_.end());
  }
  for (const auto& segment : segments) {
    if (segment->max_timestamp() < timestamp) continue;
    if (auto offset = segment->offset_for_timestamp(timestamp)) return offset;
  }
  return std::nullopt;
}

std::int64_t SegmentLog::start_offset() const noexcept {
  // acquire: pairs with the release in enforce_retention / recover.
  return start_offset_.load(std::memory_order_acquire);
}

std::int64_t SegmentLog::end_offset() const noexcept {
  // acquire: pairs with the release in publish_end.
  return end_offset_.load(std::memory_order_acquire);
}

std::int64_t SegmentLog::durable_end_offset() const noexcept {
  // acquire: pairs with the release in sync_active / recover.
  return durable_end_offset_.load(std::memory_order_acquire);
}

std::vector<std::int64_t> SegmentLog::segment_base_offsets() const {
  std::lock_guard<std::mutex> lock(segments_mutex_);
  std::vector<std::int64_t> bases;
  for (const auto& segment : segments_) bases.push_back(segment->base_offset());
  return bases;
}

}  // namespace rill::log
