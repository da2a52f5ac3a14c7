// SegmentLog: opening a partition folder and recovering it (partition_log.hpp).
#include <algorithm>

#include <fmt/format.h>

#include "log/log_cleaner.hpp"
#include "log/segment_log.hpp"
#include "log/recovery_point.hpp"
#include "rill/error.hpp"

namespace rill::log {

void SegmentLog::recover() {
  fs_.create_directories(dir_);
  // Deletes what a compaction pass left half-made; a compacted folder
  // accepts offset gaps in its closed segments (log_cleaner.hpp).
  segment_config_.offsets_may_skip = LogCleaner::recover_folder(fs_, dir_, hook_);
  // Was the log last written before the machine restarted (recovery_point.hpp)?
  const std::string boot = fs_.boot_id();
  const std::optional<RecoveryPoint> point = read_recovery_point(fs_, dir_);
  rebooted_ = !boot.empty() && point && point->boot_id != boot;
  recovery_offset_ = point ? point->offset : 0;
  std::vector<std::int64_t> bases;
  for (const std::string& name : fs_.list_directory(dir_)) {
    if (auto base = parse_segment_log_name(name)) bases.push_back(*base);
  }
  std::sort(bases.begin(), bases.end());
  if (bases.empty()) {
    std::shared_ptr<Segment> first =
        Segment::create(fs_, dir_, options_.initial_offset, segment_config_);
    fs_.sync_directory(dir_);
    fs_.sync_directory(parent_path(dir_));  // the folder itself may be new
    segments_.push_back(std::move(first));
  } else {
    recover_segments(bases);
  }
  const std::int64_t end = segments_.back()->next_offset();
  if (end < recovery_offset_) refuse_or_repair_short_end(end);
  if (!point || point->boot_id != boot || end < point->offset) {
    // A new folder, one written before this file existed, or one written
    // before a restart: from now on this boot writes it.
    write_recovery_point(fs_, dir_, {boot, point ? std::min(point->offset, end) : segments_.front()->base_offset()});
  }
  // release: pairs with the acquires in start_offset(), end_offset() and
  // durable_end_offset(); no reader exists yet, so this is for form's sake.
  start_offset_.store(segments_.front()->base_offset(), std::memory_order_release);
  end_offset_.store(end, std::memory_order_release);
  durable_end_offset_.store(end, std::memory_order_release);
}

void SegmentLog::recover_segments(const std::vector<std::int64_t>& bases) {
  const RecoveryContext context{recovery_offset_, rebooted_};
  for (std::size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    // Only the active segment grows to segment_bytes: a compacted one stays small.
    std::shared_ptr<Segment> segment = Segment::open(fs_, dir_, bases[i], segment_config_, last);
    // After a restart, a segment reaching past the recovery point may hold
    // pages that never reached the disk, damaged anywhere: check every
    // batch. A repair checks every batch of every segment, so that it finds
    // the damage a reader met (open checks a closed segment only from its
    // last index entry on).
    const bool unsynced = rebooted_ && (last || bases[i + 1] > recovery_offset_);
    const SegmentScan scan = segment->recover(last, unsynced || options_.repair);
    segments_.push_back(segment);
    if (scan.indexes_rebuilt) {
      hook_(fmt::format("{}: index entries disagreed with the log; indexes rebuilt from the log",
                        segment->log_path()));
    }
    // Compaction may leave offsets out between segments, never overlap.
    const bool gap = !last && (segment_config_.offsets_may_skip ? scan.next_offset > bases[i + 1]
                                                               : scan.next_offset != bases[i + 1]);
    if (!scan.damaged && !gap) continue;
    // Damage, or a segment ending short of the next one. Valid data after
    // it: a valid batch later in this segment, or any later segment that
    // is not empty (a tail lost across a roll leaves the later ones empty).
    const bool valid_after = scan.valid_batch_after || (!last && !later_segments_empty(bases, i));
    const DamageVerdict verdict = judge_damage(context, scan.next_offset, valid_after);
    if (verdict == DamageVerdict::cut_torn_tail && !valid_after) {
      truncate_torn_tail(bases, i, scan);
      if (last) continue;
      return;
    }
    refuse_or_repair(bases, i, scan, verdict == DamageVerdict::cut_torn_tail);
    return;
  }
}

bool SegmentLog::later_segments_empty(const std::vector<std::int64_t>& bases, std::size_t index) {
  for (std::size_t i = index + 1; i < bases.size(); ++i) {
    const auto later = Segment::open(fs_, dir_, bases[i], segment_config_, i + 1 == bases.size());
    const SegmentScan scan = later->recover(true);
    // Garbage with no valid batch in it (unsynced blocks a power loss garbled) holds nothing.
    if (scan.end_position != 0 || scan.valid_batch_after) return false;
  }
  return true;
}

void SegmentLog::truncate_torn_tail(const std::vector<std::int64_t>& bases, std::size_t index,
                                      const SegmentScan& scan) {
  Segment& segment = *segments_[index];
  counters_.add_truncation(segment.discard_tail());
  hook_(fmt::format("{}: truncated a torn tail at byte {} ({}); the log ends at offset {}",
                    segment.log_path(), scan.damaged ? scan.damage_position : scan.end_position,
                    scan.damaged ? scan.reason : "offsets missing before the next segment",
                    scan.next_offset));
  if (index + 1 == bases.size()) return;
  for (std::size_t i = index + 1; i < bases.size(); ++i) {
    const std::string stem = join_path(dir_, segment_stem(bases[i]));
    for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
      const std::string path = stem + std::string(suffix);
      if (fs_.exists(path)) fs_.unlink(path);
    }
    hook_(fmt::format("{}{}: held no batch after the torn tail; removed", stem, kLogSuffix));
  }
  fs_.sync_directory(dir_);
}

void SegmentLog::refuse_or_repair(const std::vector<std::int64_t>& bases, std::size_t index,
                                    const SegmentScan& scan, bool torn_by_restart) {
  const Segment& segment = *segments_[index];
  const std::string what =
      scan.damaged
          ? fmt::format("byte {}: {}", scan.damage_position, scan.reason)
          : fmt::format("byte {}: the segment ends at offset {} but the next one starts at {}",
                        scan.end_position, scan.next_offset, bases[index + 1]);
  if (!options_.repair && !torn_by_restart) {
    // Synced (or closed in order) below the recovery point: acknowledged
    // records, so damage there is never cut as a torn tail.
    if (scan.next_offset < recovery_offset_) {
      throw Error(ErrorCode::corrupt,
                  fmt::format("{}: damaged at {}, where offsets from {} on were synced or closed in "
                              "order (the recovery point is at offset {}): nothing was cut; open with "
                              "repair (rill verify --repair) to keep a copy and cut the log there",
                              segment.log_path(), what, scan.next_offset, recovery_offset_));
    }
    throw Error(ErrorCode::corrupt,
                fmt::format("{}: damaged in the middle of the log at {}, followed by valid data: "
                            "nothing was cut; open with repair (rill verify --repair) to keep a "
                            "copy and cut the log there",
                            segment.log_path(), what));
  }
  if (torn_by_restart) {
    hook_(fmt::format("{}: the machine restarted since this log was written, and {} lies past the "
                      "last synced offset {}: unsynced writes torn by the restart, cut there",
                      segment.log_path(), what, recovery_offset_));
  }
  repair_damage(index, scan);
  drop_segments_after(bases, index);
  fs_.sync_directory(dir_);
}

void SegmentLog::refuse_or_repair_short_end(std::int64_t end) {
  const std::string& file = segments_.back()->log_path();
  if (repaired_) return;  // the repair that cut the log said where it ends
  if (!options_.repair) {
    throw Error(ErrorCode::corrupt,
                fmt::format("{}: the log ends at offset {}, but offsets below {} were synced or closed "
                            "in order (the recovery point): records are missing; open with repair "
                            "(rill verify --repair) to accept the log as it is",
                            file, end, recovery_offset_));
  }
  hook_(fmt::format("{}: repaired: the log ends at offset {}, short of the recovery point at {}; "
                    "the recovery point is lowered to the end",
                    file, end, recovery_offset_));
}

void SegmentLog::repair_damage(std::size_t index, const SegmentScan& scan) {
  repaired_ = true;
  Segment& segment = *segments_[index];
  const std::string copy = segment.log_path() + std::string(kDamagedSuffix);
  segment.copy_log_to(copy);
  counters_.add_truncation(segment.discard_tail());
  hook_(fmt::format("{}: repaired: cut at byte {} ({}); the log ends at offset {}; the damaged "
                    "file is kept as {}",
                    segment.log_path(), scan.damaged ? scan.damage_position : scan.end_position,
                    scan.damaged ? scan.reason : "offsets missing before the next segment",
                    scan.next_offset, copy));
}

void SegmentLog::drop_segments_after(const std::vector<std::int64_t>& bases, std::size_t index) {
  for (std::size_t i = index + 1; i < bases.size(); ++i) {
    const std::string stem = join_path(dir_, segment_stem(bases[i]));
    const std::string log = stem + std::string(kLogSuffix);
    const std::string copy = log + std::string(kDamagedSuffix);
    fs_.rename(log, copy);
    for (std::string_view suffix : {kIndexSuffix, kTimeIndexSuffix}) {
      const std::string path = stem + std::string(suffix);
      if (fs_.exists(path)) fs_.unlink(path);
    }
    hook_(fmt::format("{}: repaired: follows the cut, moved aside as {}", log, copy));
  }
}

}  // namespace rill::log
