// SegmentLog: one durable partition, a folder of segments (segment.hpp)
// holding a dense range of offsets [start_offset, end_offset), with gaps
// once compacted (log_cleaner.hpp): a read of a removed offset returns the
// batch holding the next one.
//
// Design
// - Segments are ordered by base offset; only the last (active) one is
//   appended to. When a batch does not fit, the active segment is synced
//   (unless the policy is none) and a new one named by the next offset is
//   created, preallocated, and its directory entry synced.
// - Durability follows FsyncPolicy. sync() (called by append under
//   every_batch, and at most every fsync_interval under interval) reports
//   failure with Error(io); after a failed sync the log refuses appends and
//   syncs until it is reopened: the kernel may have dropped the dirty pages,
//   so the bytes still readable in memory may never reach the disk, and
//   retrying the sync could report success over lost data ("fsyncgate").
// - Open = recovery (partition_recovery.cpp): every segment's indexes are
//   checked and its tail scanned from its last index entry with checksums
//   verified. Past the recovery point (recovery_point.hpp), a damaged tail
//   with nothing valid after it is zero-filled (a torn write); so is a
//   segment that ends short of the next one when all later segments are
//   empty (a tail lost across a roll; they are removed). Damage below the
//   recovery point (synced, or closed in order), a log ending before it,
//   damage followed by valid data, or a gap in offsets before a segment
//   holding data, is refused with Error(corrupt) unless options.repair,
//   which checks every batch of every segment, keeps "<name>.log.damaged"
//   copies and cuts the log at the first damage. Each cut writes a line
//   through the log hook.
// - Idempotent producers (partition_producer_state.cpp): a batch carrying a
//   producer id is checked against the producer-state table before it is
//   written (producer_state.hpp): a resent batch is not written again and
//   append reports where it was (Appended::duplicate); an unexpected
//   sequence is refused. The table is snapshotted at each roll
//   ("<offset>.snapshot", producer_snapshot.hpp) and rebuilt at open from
//   the newest valid snapshot plus the batch headers after it.
// - Compaction (log_cleaner.hpp) rewrites closed segments on another
//   thread; it takes the caller's writer mutex only to swap a segment
//   pointer in the list, and retention skips its turn while a pass runs.
// - Retention deletes whole closed segments, oldest first (unlink, then a
//   directory sync). Readers hold a shared_ptr to the segment they read, so
//   its mapping stays valid after the unlink.
// - Thread roles: one writer thread calls append, sync, prepare_sync and
//   enforce_retention (the caller serializes them); complete_sync may run on
//   another thread at the same time (group commit: the bytes it syncs are
//   already written, and fdatasync of a file being appended to is safe; the
//   FileSystem must accept calls from both threads); any thread may call read, the offset
//   getters and offset_for_timestamp concurrently with it. A mutex guards
//   the segment list (taken once per read, never while reading bytes);
//   batch bytes are published by each segment's committed position.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codec/batch_reader.hpp"
#include "log/file_system.hpp"
#include "log/log_counters.hpp"
#include "log/producer_state.hpp"
#include "log/segment.hpp"
#include "rill/options.hpp"

namespace rill::log {


struct SegmentLogOptions {
  std::size_t segment_bytes = std::size_t{64} << 20;  // multiple of 4096, at most 2 GiB
  std::size_t index_interval_bytes = 4096;            // log bytes between index entries
  FsyncPolicy fsync_policy = FsyncPolicy::none;
  std::chrono::milliseconds fsync_interval{1000};     // for FsyncPolicy::interval
  std::uint64_t retention_bytes = 0;                  // 0: no size limit
  std::chrono::milliseconds retention_age{0};         // 0: no age limit
  std::int64_t initial_offset = 0;                    // first offset of a new, empty log
  bool repair = false;  // cut the log at mid-log damage instead of refusing to open
};

// Whether append() applies the fsync policy itself (see append()).
enum class SyncMode { policy, deferred };

// The unsynced bytes of a log at one moment (SegmentLog::prepare_sync).
struct SyncTicket {
  struct Range {
    std::shared_ptr<Segment> segment;
    std::size_t from = 0, to = 0;
  };
  std::vector<Range> ranges;
  std::int64_t end_offset = 0;  // durable once the ranges are synced
};

// Receives one line per repair made at open (file, byte offset, reason).
using LogHook = std::function<void(const std::string& line)>;

struct Appended {
  std::int64_t base_offset = -1;         // the batch's first offset
  std::int64_t durable_end_offset = -1;  // offsets below this are synced
  // The batch was an idempotent producer's resend of one the log holds: it
  // was not written again, and base_offset is where the original is.
  bool duplicate = false;
};

enum class ReadStatus {
  ok,           // `bytes` holds at least one batch
  below_start,  // the offset was deleted by retention; start_offset() is the earliest
  at_end,       // no record at or after the offset yet
  corrupt,      // the offset is committed but its batch is damaged (a bad header,
                // a base offset that does not follow the batch before, or, when
                // checked, a bad checksum): open verifies a closed segment only
                // from its last index entry on. `damage` says where and why.
};

// Whole batches from one segment, 8-byte aligned with zero padding between
// them; walk them with next_batch(). `segment` keeps the mapping alive (and
// names the file of a corrupt read).
struct ReadResult {
  ReadStatus status = ReadStatus::at_end;
  std::shared_ptr<const Segment> segment;
  std::span<const std::byte> bytes;
  ReadDamage damage;  // for ReadStatus::corrupt: the damaged batch's byte and the reason
};

// Takes the first batch off `bytes` (and the padding after it). Returns an
// invalid view when `bytes` is empty. The bytes are committed batches, so
// only the header is checked.
[[nodiscard]] codec::BatchView next_batch(std::span<const std::byte>& bytes) noexcept;

// One compaction pass (SegmentLog::compact, log_cleaner.hpp).
struct CompactionOptions {
  // Wall clock in ms: a tombstone whose timestamp is below
  // now_ms - tombstone_retention is removed.
  std::int64_t now_ms = 0;
  std::chrono::milliseconds tombstone_retention{24 * 60 * 60 * 1000};
  // Checked between batches; when raised the pass stops early, leaving
  // every segment either untouched or fully replaced.
  const std::atomic<bool>* stop = nullptr;
};

struct CompactionResult {
  std::size_t segments_rewritten = 0;  // replaced by a compacted copy
  std::size_t segments_removed = 0;    // nothing left in them: deleted
  std::uint64_t records_removed = 0;   // superseded records and expired tombstones
  std::uint64_t bytes_before = 0;      // committed bytes of the segments cleaned
  std::uint64_t bytes_after = 0;
  bool stopped = false;                // CompactionOptions::stop ended the pass
};

class SegmentLog {
 public:
  // Opens the partition folder `dir` (created when missing), recovering what
  // a crash left. Throws Error(invalid_argument) for bad options,
  // Error(corrupt) for damage it must not repair, Error(io) on I/O failure.
  // `fs` must outlive the log and every ReadResult it returned; the default
  // hook writes to stderr.
  [[nodiscard]] static std::unique_ptr<SegmentLog> open(const std::string& dir,
                                                          const SegmentLogOptions& options,
                                                          FileSystem& fs = default_file_system(),
                                                          LogHook hook = {});
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Writer. Appends one finished batch covering `record_count` offsets (its
  // last_offset_delta + 1), assigning its base offset in the log (the
  // caller's bytes are not changed). Syncs as the policy says. Throws
  // Error(invalid_argument) for bytes that are not one batch or larger than
  // a segment, Error(io) when creating a segment or a sync fails, and
  // Error(io) after an earlier failed sync. A batch with a producer id is
  // checked first (producer_state.hpp): a resend of one the log holds is
  // not written and returns the original's base offset with `duplicate`;
  // an unexpected sequence throws Error(out_of_order_sequence) and writes
  // nothing. Does not allocate unless it rolls or meets a new producer id.
  // With SyncMode::deferred, FsyncPolicy::every_batch does not sync here:
  // the caller makes the batch durable with a SyncTicket (group commit).
  Appended append(std::span<const std::byte> batch, std::int64_t record_count,
                      SyncMode mode = SyncMode::policy);
  // Writer. Makes every appended batch durable; see the fsyncgate note above.
  void sync();
  // Writer. Records durable_end_offset() as the folder's recovery point
  // (recovery_point.hpp); done at every roll under a syncing policy, and by
  // the owner after the sync of an orderly close. Throws Error(io).
  void checkpoint();
  // Group commit, in two steps. prepare_sync (writer, under the caller's
  // writer lock) notes every appended byte not yet synced; complete_sync
  // (any thread, without the writer lock, so appends go on meanwhile)
  // forces those bytes to disk and raises durable_end_offset() to the
  // ticket's end. The caller runs prepare+complete pairs one at a time (a
  // sync lock), so one fdatasync covers every batch appended before its
  // ticket. Both throw Error(io) once a sync has failed; a failure in
  // complete_sync marks the log failed as sync() does.
  [[nodiscard]] SyncTicket prepare_sync();
  void complete_sync(const SyncTicket& ticket);
  // Any thread, one pass at a time (a second caller waits). Keeps only the
  // newest record per key in the closed segments (log_cleaner.hpp): each
  // segment with something to drop is rewritten, synced and renamed over
  // the old one; offsets are kept, so gaps appear. `writer_mutex` is the
  // mutex the caller holds around every writer call; compact holds it only
  // to swap a segment in the list, never while copying. Readers keep
  // reading the old mapping. Throws Error(io), or Error(corrupt) when a
  // closed segment fails its checksums (it is then left as it is).
  CompactionResult compact(const CompactionOptions& options, std::mutex& writer_mutex);
  // Writer. Deletes closed segments past the size or age limit (age by the
  // segment's largest batch timestamp against `now_ms`). Returns how many.
  // Skips (returns 0) while a compaction pass runs; the next call retries.
  std::size_t enforce_retention(std::int64_t now_ms);

  // Any thread. Batches from the one holding `offset`, up to about
  // `max_bytes` (at least one batch), from a single segment, each checked
  // as Segment::read_from says (the checksums too with ChecksumCheck::on);
  // the bytes end in front of the first damaged batch, and a read whose
  // first batch is damaged is ReadStatus::corrupt. Never blocks on the
  // writer except for the segment-list mutex; does not copy bytes.
  [[nodiscard]] ReadResult read(std::int64_t offset, std::size_t max_bytes,
                                ChecksumCheck check = ChecksumCheck::off) const;
  // Any thread. The first offset of the first batch whose max timestamp is
  // >= timestamp, or nullopt when there is none.
  [[nodiscard]] std::optional<std::int64_t> offset_for_timestamp(std::int64_t timestamp) const;

  [[nodiscard]] std::int64_t start_offset() const noexcept;
  [[nodiscard]] std::int64_t end_offset() const noexcept;
  // Offsets below this were synced by this log or found on disk at open.
  [[nodiscard]] std::int64_t durable_end_offset() const noexcept;
  // Writer (serialized with append by the caller). The sequence the next
  // batch of idempotent producer `producer_id` must start with: 0 for a
  // producer the log does not know.
  [[nodiscard]] std::int32_t next_sequence(std::int64_t producer_id) const noexcept;
  // True after a failed sync: appends are refused until reopened.
  [[nodiscard]] bool failed() const noexcept {
    // acquire: pairs with the release in mark_failed; see check_writable.
    return failed_.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::vector<std::int64_t> segment_base_offsets() const;
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  // Syncs and recovery cuts counted so far (log_counters.hpp). Any thread.
  [[nodiscard]] const LogCounters& counters() const noexcept { return counters_; }

 private:
  friend class LogCleaner;  // compaction (log_cleaner.cpp) swaps segments in the list

  SegmentLog(const std::string& dir, const SegmentLogOptions& options, FileSystem& fs,
               LogHook hook);

  // partition_producer_state.cpp
  [[nodiscard]] std::optional<Appended> check_producer(const codec::BatchView& batch,
                                                           std::int64_t record_count) const;
  void snapshot_producer_state(std::int64_t offset) noexcept;
  void drop_producer_snapshots_below(std::int64_t offset) noexcept;
  void load_producer_state();
  void replay_producer_batches(std::int64_t from);

  // partition_recovery.cpp
  void recover();
  void recover_segments(const std::vector<std::int64_t>& bases);
  [[nodiscard]] bool later_segments_empty(const std::vector<std::int64_t>& bases, std::size_t index);
  void truncate_torn_tail(const std::vector<std::int64_t>& bases, std::size_t index,
                          const SegmentScan& scan);
  void refuse_or_repair(const std::vector<std::int64_t>& bases, std::size_t index,
                        const SegmentScan& scan, bool torn_by_restart);
  void refuse_or_repair_short_end(std::int64_t end);
  void repair_damage(std::size_t index, const SegmentScan& scan);
  void drop_segments_after(const std::vector<std::int64_t>& bases, std::size_t index);

  void roll();
  void check_writable() const;
  void sync_active();
  void delete_segment_files(const Segment& segment);
  void publish_end(std::int64_t end) noexcept;
  void publish_durable_end(std::int64_t end) noexcept;
  void mark_failed() noexcept;

  LogCounters counters_;  // any thread adds (relaxed); see log_counters.hpp
  std::string dir_;
  SegmentLogOptions options_;
  SegmentConfig segment_config_;
  FileSystem& fs_;
  LogHook hook_;

  // Guards the list only; the writer changes it (roll, retention), readers
  // copy a shared_ptr out of it.
  mutable std::mutex segments_mutex_;
  std::vector<std::shared_ptr<Segment>> segments_;
  // Held by a compaction pass from start to end; retention try-locks it.
  // Lock order: cleaner_mutex_, the caller's writer mutex, segments_mutex_.
  std::mutex cleaner_mutex_;

  // Set once a sync failed (by the writer or a complete_sync caller);
  // release/acquire so that whoever sees it also sees the failure's cause.
  std::atomic<bool> failed_{false};
  // Writer-only state.
  std::chrono::steady_clock::time_point last_sync_;
  // Recovery: the machine restarted since the log was last written, and
  // offsets below recovery_offset_ were synced then (recovery_point.hpp).
  bool rebooted_ = false;
  std::int64_t recovery_offset_ = 0;
  bool repaired_ = false;  // recovery cut the log at damage (a repair, or a restart's tear)
  ProducerStateTable producer_state_;  // idempotent producers' sequences

  // Written by the writer with release stores after the segment has
  // published the batches; read by any thread with acquire loads.
  std::atomic<std::int64_t> start_offset_{0};
  std::atomic<std::int64_t> end_offset_{0};
  std::atomic<std::int64_t> durable_end_offset_{0};
};

}  // namespace rill::log
