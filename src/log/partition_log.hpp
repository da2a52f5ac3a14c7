// PartitionLog: one durable partition, a folder of segments (segment.hpp)
// holding a dense range of offsets [start_offset, end_offset).
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
//   verified. A damaged tail with nothing valid after it is zero-filled (a
//   torn write); so is a segment that ends short of the next one when all
//   later segments are empty (a tail lost across a roll; they are removed).
//   Damage followed by valid data, or a gap in offsets before a segment
//   holding data, is refused with Error(corrupt) unless options.repair,
//   which keeps "<name>.log.damaged" copies and cuts the log at the damage.
//   Each repair writes a line through the log hook.
// - Retention deletes whole closed segments, oldest first (unlink, then a
//   directory sync). Readers hold a shared_ptr to the segment they read, so
//   its mapping stays valid after the unlink.
// - Thread roles: one writer thread calls append, sync and enforce_retention
//   (the caller serializes them); any thread may call read, the offset
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
#include "log/segment.hpp"

namespace rill::log {

enum class FsyncPolicy {
  none,         // never: survives a process crash, not a power loss
  interval,     // on the first append fsync_interval or more after the last sync,
                // and when a segment is closed; there is no timer thread, so an
                // idle log stays unsynced until the next append or sync()
  every_batch,  // before append returns: survives a power loss
};

struct PartitionLogOptions {
  std::size_t segment_bytes = std::size_t{64} << 20;  // multiple of 4096, at most 2 GiB
  std::size_t index_interval_bytes = 4096;            // log bytes between index entries
  FsyncPolicy fsync_policy = FsyncPolicy::none;
  std::chrono::milliseconds fsync_interval{1000};     // for FsyncPolicy::interval
  std::uint64_t retention_bytes = 0;                  // 0: no size limit
  std::chrono::milliseconds retention_age{0};         // 0: no age limit
  std::int64_t initial_offset = 0;                    // first offset of a new, empty log
  bool repair = false;  // cut the log at mid-log damage instead of refusing to open
};

// Receives one line per repair made at open (file, byte offset, reason).
using LogHook = std::function<void(const std::string& line)>;

struct AppendResult {
  std::int64_t base_offset = -1;         // the batch's first offset
  std::int64_t durable_end_offset = -1;  // offsets below this are synced
};

enum class ReadStatus {
  ok,           // `bytes` holds at least one batch
  below_start,  // the offset was deleted by retention; start_offset() is the earliest
  at_end,       // no record at or after the offset yet
  corrupt,      // the offset is committed but its batch header is damaged: open
                // verifies a closed segment only from its last index entry on
};

// Whole batches from one segment, 8-byte aligned with zero padding between
// them; walk them with next_batch(). `segment` keeps the mapping alive.
struct ReadResult {
  ReadStatus status = ReadStatus::at_end;
  std::shared_ptr<const Segment> segment;
  std::span<const std::byte> bytes;
};

// Takes the first batch off `bytes` (and the padding after it). Returns an
// invalid view when `bytes` is empty. The bytes are committed batches, so
// only the header is checked.
[[nodiscard]] codec::BatchView next_batch(std::span<const std::byte>& bytes) noexcept;

class PartitionLog {
 public:
  // Opens the partition folder `dir` (created when missing), recovering what
  // a crash left. Throws Error(invalid_argument) for bad options,
  // Error(corrupt) for damage it must not repair, Error(io) on I/O failure.
  // `fs` must outlive the log and every ReadResult it returned; the default
  // hook writes to stderr.
  [[nodiscard]] static std::unique_ptr<PartitionLog> open(const std::string& dir,
                                                          const PartitionLogOptions& options,
                                                          FileSystem& fs = default_file_system(),
                                                          LogHook hook = {});
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // Writer. Appends one finished batch covering `record_count` offsets (its
  // last_offset_delta + 1), assigning its base offset in the log (the
  // caller's bytes are not changed). Syncs as the policy says. Throws
  // Error(invalid_argument) for bytes that are not one batch or larger than
  // a segment, Error(io) when creating a segment or a sync fails, and
  // Error(io) after an earlier failed sync. Does not allocate unless it rolls.
  AppendResult append(std::span<const std::byte> batch, std::int64_t record_count);
  // Writer. Makes every appended batch durable; see the fsyncgate note above.
  void sync();
  // Writer. Deletes closed segments past the size or age limit (age by the
  // segment's largest batch timestamp against `now_ms`). Returns how many.
  std::size_t enforce_retention(std::int64_t now_ms);

  // Any thread. Batches from the one holding `offset`, up to about
  // `max_bytes` (at least one batch), from a single segment. Never blocks on
  // the writer except for the segment-list mutex; does not copy bytes.
  [[nodiscard]] ReadResult read(std::int64_t offset, std::size_t max_bytes) const;
  // Any thread. The first offset of the first batch whose max timestamp is
  // >= timestamp, or nullopt when there is none.
  [[nodiscard]] std::optional<std::int64_t> offset_for_timestamp(std::int64_t timestamp) const;

  [[nodiscard]] std::int64_t start_offset() const noexcept;
  [[nodiscard]] std::int64_t end_offset() const noexcept;
  // Offsets below this were synced by this log or found on disk at open.
  [[nodiscard]] std::int64_t durable_end_offset() const noexcept;
  // True after a failed sync: appends are refused until reopened.
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] std::vector<std::int64_t> segment_base_offsets() const;
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

 private:
  PartitionLog(const std::string& dir, const PartitionLogOptions& options, FileSystem& fs,
               LogHook hook);

  // partition_recovery.cpp
  void recover();
  void recover_segments(const std::vector<std::int64_t>& bases);
  [[nodiscard]] bool later_segments_empty(const std::vector<std::int64_t>& bases, std::size_t index);
  void truncate_torn_tail(const std::vector<std::int64_t>& bases, std::size_t index,
                          const SegmentScan& scan);
  void refuse_or_repair(const std::vector<std::int64_t>& bases, std::size_t index,
                        const SegmentScan& scan);
  void repair_damage(std::size_t index, const SegmentScan& scan);
  void drop_segments_after(const std::vector<std::int64_t>& bases, std::size_t index);

  void roll();
  void check_writable() const;
  void sync_active();
  void delete_segment_files(const Segment& segment);
  void publish_end(std::int64_t end) noexcept;

  std::string dir_;
  PartitionLogOptions options_;
  SegmentConfig segment_config_;
  FileSystem& fs_;
  LogHook hook_;

  // Guards the list only; the writer changes it (roll, retention), readers
  // copy a shared_ptr out of it.
  mutable std::mutex segments_mutex_;
  std::vector<std::shared_ptr<Segment>> segments_;

  // Writer-only state.
  bool failed_ = false;
  std::chrono::steady_clock::time_point last_sync_;

  // Written by the writer with release stores after the segment has
  // published the batches; read by any thread with acquire loads.
  std::atomic<std::int64_t> start_offset_{0};
  std::atomic<std::int64_t> end_offset_{0};
  std::atomic<std::int64_t> durable_end_offset_{0};
};

}  // namespace rill::log
