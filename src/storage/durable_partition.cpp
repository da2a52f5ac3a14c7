#include "storage/durable_partition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "base/clock.hpp"
#include "codec/batch_format.hpp"
#include "storage/timestamp_scan.hpp"

namespace rill::storage {
namespace {

// What a read reports when it stops in front of damaged storage.
std::string damaged_at(const std::string& file, const log::ReadDamage& damage, std::int64_t offset) {
  std::string next;
  if (damage.next_whole_offset >= 0) {
    next = fmt::format("; the next whole batch starts at offset {} (a seek there reads on)",
                       damage.next_whole_offset);
  }
  return fmt::format("{}: the batch at byte {} is damaged ({}); the position stays at offset {}{} "
                     "(rill verify names the damage; rill verify --repair cuts the log there, "
                     "keeping a copy)",
                     file, damage.position, damage.reason, offset, next);
}

}  // namespace

DurablePartition::DurablePartition(std::unique_ptr<log::SegmentLog> log, const TopicOptions& options,
                                   std::string name, detail::BlockingWait* data_signal)
    : name_(std::move(name)),
      max_batch_bytes_(options.segment_bytes - 8),  // a padded batch fills at most a segment
      retention_step_bytes_(options.segment_bytes),
      has_retention_(options.retention_bytes > 0 || options.retention_ms.count() > 0),
      data_signal_(data_signal),
      group_commit_(options.fsync == FsyncPolicy::every_batch),
      log_(std::move(log)),
      out_of_memory_(std::make_shared<const Error>(
          ErrorCode::io, fmt::format("partition {}: a write or sync failed (out of memory for its message)", name_))),
      last_retention_(std::chrono::steady_clock::now()) {
  if (has_retention_) (void)log_->enforce_retention(base::wall_clock_ms());
}

DurablePartition::~DurablePartition() {
  if (sync_timer_) sync_timer_->remove(this);
  if (cleaner_) cleaner_->remove(this);  // stops and waits for a pass on this partition
  try {
    std::lock_guard lock(writer_mutex_);
    if (!closed_ && !log_->failed()) {
      log_->sync();  // an orderly close leaves nothing unsynced
      log_->checkpoint();
    }
  } catch (...) {
    // A failed sync at close: the data is in the page cache; recovery checks it.
  }
}

std::shared_ptr<const Error> DurablePartition::error_of(ErrorCode code, std::string_view what) const noexcept {
  try {
    return std::make_shared<const Error>(code, fmt::format("partition {}: {}", name_, what));
  } catch (...) {
    return out_of_memory_;  // made at construction: a failure is never reported as success
  }
}

AppendResult DurablePartition::fail(std::shared_ptr<const Error> error) noexcept {
  AppendResult r;
  r.status = AppendStatus::failed;
  r.error = std::move(error);
  return r;
}

AppendResult DurablePartition::append(std::span<std::byte> batch, bool /*wait*/,
                                      detail::Deadline /*deadline*/) noexcept {
  std::int64_t sync_pending_end = -1;
  AppendResult r = write(batch, sync_pending_end);
  if (sync_pending_end < 0) return r;
  // Not acknowledged until a sync covers it; the batch itself stays in the
  // log either way (recovery may find it after a crash).
  if (std::shared_ptr<const Error> error = sync_through(sync_pending_end)) return fail(std::move(error));
  r.durable = true;
  return r;
}

AppendResult DurablePartition::append_deferring_sync(std::span<std::byte> batch, bool /*wait*/,
                                                     detail::Deadline /*deadline*/,
                                                     std::int64_t& sync_pending_end) noexcept {
  return write(batch, sync_pending_end);
}

std::shared_ptr<const Error> DurablePartition::await_durable(std::int64_t end_offset) noexcept {
  return sync_through(end_offset);
}

AppendResult DurablePartition::write(std::span<std::byte> batch, std::int64_t& sync_pending_end) noexcept {
  sync_pending_end = -1;
  if (batch.size() > max_batch_bytes_) return AppendResult{AppendStatus::too_large};
  // The producer built this batch; its header is trusted here and checked
  // again by the log.
  const std::int64_t count = std::int64_t{codec::BatchView::trusted(batch).last_offset_delta()} + 1;
  log::Appended appended;
  {
    std::lock_guard lock(writer_mutex_);
    if (closed_) return fail(error_of(ErrorCode::closed, "the topic was deleted"));
    try {
      appended = log_->append(batch, count, group_commit_ ? log::SyncMode::deferred : log::SyncMode::policy);
      counters.add_appended(static_cast<std::uint64_t>(count), batch.size());  // under writer_mutex_
    } catch (const Error& e) {
      return fail(error_of(e.code(), e.what()));
    } catch (const std::exception& e) {
      return fail(error_of(ErrorCode::io, e.what()));
    }
    maybe_enforce_retention(batch.size());
  }
  codec::set_base_offset(batch, appended.base_offset);
  data_signal_->notify();  // the log published the batch (release store of its end offset)
  const std::int64_t end = appended.base_offset + count;
  const bool durable = log_->durable_end_offset() >= end;
  if (group_commit_ && !durable) sync_pending_end = end;
  return AppendResult{AppendStatus::ok, appended.base_offset, durable, appended.duplicate};
}

std::int32_t DurablePartition::next_sequence(std::int64_t producer_id) noexcept {
  try {
    std::lock_guard lock(writer_mutex_);
    return log_->next_sequence(producer_id);
  } catch (...) {
    return -1;  // the mutex failed: the producer keeps its own count
  }
}

std::shared_ptr<const Error> DurablePartition::sync_through(std::int64_t end) noexcept {
  try {
    std::lock_guard sync_lock(sync_mutex_);
    if (log_->durable_end_offset() >= end) return nullptr;  // an earlier sync covered it
    // The sync that covered it failed: its waiters all get that error.
    if (failed_sync_ && end <= failed_sync_end_) return failed_sync_;
    log::SyncTicket ticket;
    {
      std::lock_guard lock(writer_mutex_);
      ticket = log_->prepare_sync();  // throws once a sync failed: the log refuses
    }
    try {
      log_->complete_sync(ticket);
    } catch (const Error& e) {
      failed_sync_ = error_of(e.code(), e.what());
      failed_sync_end_ = ticket.end_offset;
      return failed_sync_;
    }
    return nullptr;
  } catch (const Error& e) {
    return error_of(e.code(), e.what());
  } catch (const std::exception& e) {
    return error_of(ErrorCode::io, e.what());
  }
}

void DurablePartition::start_interval_sync(std::shared_ptr<SyncTimer> timer,
                                           std::chrono::milliseconds interval) {
  sync_timer_ = std::move(timer);
  sync_timer_->add(this, interval);
}

void DurablePartition::sync_unsynced() noexcept {
  if (log_->failed()) return;
  const std::int64_t end = log_->end_offset();
  if (log_->durable_end_offset() >= end) return;
  // A failure marks the log failed: the next append reports it; nothing
  // was acknowledged on the strength of this sync.
  (void)sync_through(end);
}

void DurablePartition::maybe_enforce_retention(std::size_t appended_bytes) noexcept {
  if (!has_retention_) return;
  bytes_since_retention_ += appended_bytes;
  const auto now = std::chrono::steady_clock::now();
  if (bytes_since_retention_ < retention_step_bytes_ && now - last_retention_ < std::chrono::seconds(1)) {
    return;
  }
  bytes_since_retention_ = 0;
  last_retention_ = now;
  try {
    (void)log_->enforce_retention(base::wall_clock_ms());
  } catch (...) {
    // An unlink or directory sync failed: the segment stays and the next
    // check tries again; the append itself succeeded.
  }
}

void DurablePartition::close() noexcept {
  std::lock_guard lock(writer_mutex_);
  closed_ = true;
}

void DurablePartition::sync() {
  std::lock_guard lock(writer_mutex_);
  if (!closed_) log_->sync();
}

PartitionMetrics DurablePartition::metrics() const noexcept {
  PartitionMetrics m = Partition::metrics();
  log_->counters().snapshot_into(m);
  return m;
}

PartitionInfo DurablePartition::info() const noexcept {
  PartitionInfo info;
  info.start_offset = log_->start_offset();
  info.end_offset = log_->end_offset();
  try {
    for (std::int64_t base : log_->segment_base_offsets()) {
      const log::ReadResult r = log_->read(std::max(base, info.start_offset), 1);
      // A segment compaction left empty reads on into the next one: skip it.
      if (r.segment && r.segment->base_offset() == base) info.retained_bytes += r.segment->committed_bytes();
    }
  } catch (...) {
    // Out of memory: the byte count stays partial; the offsets are right.
  }
  return info;
}

Positions DurablePartition::positions() const noexcept {
  // The end first: the start and the durable end loaded after it may only
  // be newer, and are clamped into [start, end].
  const std::int64_t end = log_->end_offset();
  const std::int64_t start = std::min(log_->start_offset(), end);
  return Positions{start, end, std::clamp(log_->durable_end_offset(), start, end), end};
}

void DurablePartition::take_batches(std::span<const std::byte> bytes,
                                    const std::shared_ptr<const log::Segment>& segment, std::int64_t offset,
                                    ReadLease& into) const noexcept {
  while (!bytes.empty()) {
    // The log checked these batches (headers, offset order, checksums when
    // asked); a header failing here would be a defect, reported alike.
    const std::byte* at = bytes.data();
    const codec::BatchView batch = log::next_batch(bytes);
    if (!batch.valid()) {
      try {
        into.damage_ = damaged_at(segment->log_path(), log::ReadDamage{segment->position_of(at), "bad batch header"},
                                  into.next_offset_);
      } catch (...) {
        // Out of memory for the message: the read still stops here.
      }
      return;
    }
    if (batch.next_offset() <= offset) continue;  // wholly below the offset asked for
    if (!into.add(batch)) return;
  }
}

ReadStatus DurablePartition::read(std::int64_t offset, std::size_t max_bytes, ReadLease& into,
                                  const ReadOptions& options) noexcept {
  into.reset();
  into.from_offset_ = into.next_offset_ = offset;
  const log::ChecksumCheck check = options.check_crcs ? log::ChecksumCheck::on : log::ChecksumCheck::off;
  try {
    log::ReadResult r = log_->read(offset, max_bytes, check);
    while (r.status == log::ReadStatus::below_start) {
      // Deleted by retention before it was read: read on from the oldest
      // retained record and say how many were lost (exactly, as the start
      // only moves forward).
      const std::int64_t start = log_->start_offset();
      if (into.lost_ == 0) into.lost_from_ = offset;
      into.lost_ = start - into.lost_from_;
      offset = start;
      into.from_offset_ = into.next_offset_ = offset;
      r = log_->read(offset, max_bytes, check);
    }
    if (r.status == log::ReadStatus::corrupt) {
      // A damaged batch at the offset: the read stays in front of it.
      into.damage_ = damaged_at(r.segment->log_path(), r.damage, offset);
      return ReadStatus::damaged;
    }
    if (r.status != log::ReadStatus::ok) return ReadStatus::empty;
    into.segments_.push_back(r.segment);
    take_batches(r.bytes, r.segment, offset, into);
  } catch (...) {
    // Out of memory (the segment list or the lease): nothing more this time.
  }
  if (!into.empty()) return ReadStatus::ok;
  return into.damage_.empty() ? ReadStatus::empty : ReadStatus::damaged;
}

std::int64_t DurablePartition::offset_for_timestamp(std::int64_t timestamp_ms) {
  const std::optional<std::int64_t> batch_start = log_->offset_for_timestamp(timestamp_ms);
  if (!batch_start) return log_->end_offset();
  return scan_for_timestamp(*this, *batch_start, timestamp_ms);
}

}  // namespace rill::storage
