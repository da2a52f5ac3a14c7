// Segment: one memory-mapped log file of batches with its two sparse indexes
// (files and layouts in segment_format.hpp and docs/log_format.md).
//
// Design
// - The .log file is preallocated (posix_fallocate) to its full size when
//   created and mapped shared once; it never grows or shrinks while mapped.
//   Appends memcpy a finished batch into the mapping at write_position_,
//   pad it with zeros to a multiple of 8, and then publish it with a release
//   store of committed_position_. A reader acquire-loads committed_position_
//   (read_from, offset_for_timestamp) and reads only bytes below it, with no
//   lock and no copy: it gets spans into the mapping.
// - Invariants: committed_position_ only increases (recovery, which may
//   lower it, runs before any reader exists); every byte of the active
//   segment in [committed, mapped size) is zero once recovery is done;
//   batches are back to back with offsets following each other (base of
//   one = last offset + 1 of the one before), except in a compacted copy
//   (log_cleaner.hpp), where skip_to leaves gaps and offsets only increase.
// - Index entries are written before the batch they point at is published;
//   the entry counters are published with release stores and read with
//   acquire loads, so a reader sees whole entries. An entry may point at a
//   batch not yet committed; readers ignore positions at or past committed.
// - Thread roles: one writer (try_append, sync, recovery), any number of
//   readers. The writer is whoever the owning SegmentLog serializes.
// - Full: try_append returns full when the padded batch does not fit (or its
//   offsets would not fit the 32-bit relative offsets); the partition then
//   creates the next segment. A segment is never reused.
// - Lifetime: the mapping lives as long as the Segment; SegmentLog hands
//   readers a shared_ptr, so retention may unlink the files while a reader
//   still holds spans into them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "log/file_system.hpp"
#include "log/segment_format.hpp"

namespace rill::log {

struct SegmentConfig {
  std::size_t segment_bytes = std::size_t{64} << 20;  // log file size, multiple of 4096
  std::size_t index_interval_bytes = 4096;            // log bytes between index entries
  // Recovery of a closed segment accepts a batch whose base offset is above
  // the previous batch's end (a gap left by compaction, log_cleaner.hpp);
  // without it offsets must be dense. The active segment is always dense.
  bool offsets_may_skip = false;
};

// What recovery found in a segment (Segment::recover).
struct SegmentScan {
  std::size_t end_position = 0;  // after the last valid batch (and its padding)
  std::int64_t next_offset = 0;  // after the last valid batch
  bool damaged = false;          // non-zero bytes from end_position on
  bool valid_batch_after = false;  // ...and a valid batch somewhere after them
  std::size_t damage_position = 0;
  const char* reason = "";       // why the bytes at damage_position are not a batch
  bool indexes_rebuilt = false;
};

enum class SegmentAppend { ok, full };

// Whether a read checks the checksum of each batch it returns (Kafka's
// check.crcs). Headers and offset order are checked either way.
enum class ChecksumCheck { off, on };

// Where and why a read stopped in front of a damaged batch (Segment::read_from).
struct ReadDamage {
  std::size_t position = 0;      // byte of the log file where the batch starts
  const char* reason = nullptr;  // nullptr: the read met no damage
  // When the damaged batch holds the offset asked for: the base offset of
  // the first whole batch after it (a seek there reads on), or -1 if none.
  std::int64_t next_whole_offset = -1;
  [[nodiscard]] bool found() const noexcept { return reason != nullptr; }
};

class Segment {
 public:
  // Creates the three files of a new segment (replacing leftovers with the
  // same names), preallocates and maps them. Throws Error(io) (ENOSPC here).
  [[nodiscard]] static std::shared_ptr<Segment> create(FileSystem& fs, const std::string& dir,
                                                       std::int64_t base_offset,
                                                       const SegmentConfig& config,
                                                       std::string_view name_suffix = {});
  // Opens an existing segment's log (grown with zeros to segment_bytes when
  // shorter and `grow`; a closed segment opens at its own size, which a
  // compacted one keeps small) and its indexes (created when missing). Call
  // recover() next.
  [[nodiscard]] static std::shared_ptr<Segment> open(FileSystem& fs, const std::string& dir,
                                                     std::int64_t base_offset,
                                                     const SegmentConfig& config, bool grow = true);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Writer. Copies `batch` (one whole batch, checked by the caller) to the
  // end, sets its base offset to next_offset() in the mapping, and publishes
  // it. Never blocks, allocates or throws.
  [[nodiscard]] SegmentAppend try_append(std::span<const std::byte> batch) noexcept;
  // Writer. Makes every appended byte durable (msync + fdatasync of the
  // unsynced range). Throws Error(io) when the sync fails.
  void sync();
  // Writer. The appended bytes not yet synced, [first, second): what a
  // sync_range() on another thread must force to disk (group commit).
  [[nodiscard]] std::pair<std::size_t, std::size_t> unsynced_range() const noexcept {
    // relaxed: synced_position_ only says how far syncs got; a stale value
    // makes a range larger, never wrong.
    return {synced_position_.load(std::memory_order_relaxed), write_position_};
  }
  // Any thread, while the writer appends past `to`: makes bytes [from, to)
  // durable. Callers serialize their sync_range calls (a partition's sync
  // lock). Throws Error(io) when the sync fails.
  void sync_range(std::size_t from, std::size_t to);
  // Writer: offset the next batch gets.
  [[nodiscard]] std::int64_t next_offset() const noexcept { return next_offset_; }
  // Writer (the log cleaner writing a compacted copy): the next batch gets
  // `offset` instead, leaving a gap; ignored unless offset > next_offset().
  void skip_to(std::int64_t offset) noexcept {
    if (offset > next_offset_) next_offset_ = offset;
  }
  [[nodiscard]] bool empty() const noexcept { return write_position_ == 0; }
  [[nodiscard]] std::size_t unsynced_bytes() const noexcept {
    // relaxed: see unsynced_range().
    return write_position_ - synced_position_.load(std::memory_order_relaxed);
  }

  // Readers (any thread). The batches from the one holding `offset`, whole,
  // at most `max_bytes` of them but at least one; empty when `offset` is not
  // committed in this segment. Batches inside are 8-byte aligned with zero
  // padding between them (walk them with next_batch in partition_log.hpp).
  // The walk from the nearest index entry checks every header it passes and
  // that each batch starts where the one before it ended (above it only in
  // a compacted segment); with ChecksumCheck::on it also checks the checksum
  // of every batch it returns. It stops in front of the first batch that
  // fails, and says where and why in `*damage` (if given): then the bytes
  // end before that batch, and are empty when it is the one holding
  // `offset`; damage before the batch holding `offset` (a seek past it) is
  // passed over to the next whole batch when that one does not start after
  // `offset`. Empty without damage: every committed batch ends before
  // `offset` (past the end, or a gap compaction left after the last batch).
  [[nodiscard]] std::span<const std::byte> read_from(std::int64_t offset, std::size_t max_bytes,
                                                     ReadDamage* damage = nullptr,
                                                     ChecksumCheck check = ChecksumCheck::off) const noexcept;
  // Readers. The base offset of the first committed batch whose
  // max_timestamp >= timestamp, or nullopt.
  [[nodiscard]] std::optional<std::int64_t> offset_for_timestamp(std::int64_t timestamp) const noexcept;
  // Readers. Bytes committed (a snapshot).
  [[nodiscard]] std::size_t committed_bytes() const noexcept {
    // acquire: pairs with the release in try_append / publish.
    return committed_position_.load(std::memory_order_acquire);
  }
  // Readers. The largest batch max_timestamp appended (INT64_MIN when empty).
  [[nodiscard]] std::int64_t max_timestamp() const noexcept {
    // relaxed: a retention hint; the batches themselves are ordered by
    // committed_position_.
    return max_timestamp_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::int64_t base_offset() const noexcept { return base_offset_; }
  [[nodiscard]] const std::string& log_path() const noexcept { return log_file_.path; }
  // Readers: the byte of the log file that `p`, a pointer into bytes this
  // segment returned, stands at.
  [[nodiscard]] std::size_t position_of(const std::byte* p) const noexcept {
    return static_cast<std::size_t>(p - log_map_);
  }
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

  // Recovery (segment_recovery.cpp), before any reader exists. Checks the
  // indexes against the log (rebuilding them when they disagree), then scans
  // from the last index entry verifying checksums and offsets, and sets the
  // write position after the last valid batch. Reports what follows it: all
  // the rest of the file for the `active` (last) segment, the next 4 KiB for
  // a closed one. `verify_all` also checks every batch before the last index
  // entry: for bytes that may never have been synced (after a restart),
  // where unsynced pages can be lost or garbled in any order.
  [[nodiscard]] SegmentScan recover(bool active, bool verify_all = false);
  // Recovery, after recover(). Zero-fills the bytes after the write position
  // recover() found (up to the last non-zero byte) and syncs them: a torn
  // or damaged tail is gone for good, and zeroes the index entries past it
  // (recover() dropped them from the counts). Returns the number of bytes
  // zero-filled.
  std::size_t discard_tail();
  // Recovery. Writes a copy of the whole log file to `path` and syncs it.
  void copy_log_to(const std::string& path);

 private:
  Segment(FileSystem& fs, std::string dir, std::int64_t base_offset, const SegmentConfig& config,
          std::string_view name_suffix);
  // "<dir>/<stem><suffix><name_suffix_>" for one of the three files.
  [[nodiscard]] std::string file_path(std::string_view suffix) const;
  void open_files(OpenMode mode, bool fresh, bool grow);
  void map_index_files(bool fresh);

  // Writer: adds index entries when due, before the batch at `position` is
  // published (the same rule on append and on recovery replay).
  void note_batch(std::size_t position, std::int64_t base, std::int64_t batch_max_timestamp,
                  std::size_t padded_size) noexcept;
  void publish(std::size_t position, std::int64_t next_offset) noexcept;

  // Readers: the committed batch header at `position`, or nullptr when its
  // length does not fit the committed bytes (damage in a closed segment).
  [[nodiscard]] const std::byte* header_at(std::size_t position, std::size_t committed) const noexcept;

  // Index access (segment_index.cpp).
  [[nodiscard]] OffsetIndexEntry offset_entry(std::size_t i) const noexcept;
  [[nodiscard]] TimeIndexEntry time_entry(std::size_t i) const noexcept;
  void append_offset_entry(std::uint32_t relative, std::uint32_t position) noexcept;
  void append_time_entry(std::int64_t timestamp, std::uint32_t relative) noexcept;
  // Readers: position of the last indexed batch with base <= offset (0 if
  // none), and that batch's base offset (base_offset_ for position 0). A
  // position at or past `committed` comes back as `committed`.
  struct IndexHit {
    std::size_t position;
    std::int64_t offset;
  };
  [[nodiscard]] IndexHit index_lookup(std::int64_t offset, std::size_t committed) const noexcept;
  [[nodiscard]] std::size_t time_lookup(std::int64_t timestamp, std::size_t committed) const noexcept;
  // Recovery: counts entries, keeps the prefix consistent with the log.
  // Returns false when any entry had to be dropped.
  [[nodiscard]] bool load_indexes();
  [[nodiscard]] bool time_entry_matches_batch(const TimeIndexEntry& entry,
                                              std::size_t offset_entries) const noexcept;
  // Recovery: keeps the first entries of each index (the counts only);
  // settle_indexes() zeroes the bytes past the counts (only where not zero).
  void trim_index_counts(std::size_t offset_entries, std::size_t time_entries) noexcept;
  void settle_indexes() noexcept;
  [[nodiscard]] SegmentScan scan_from(std::size_t position, std::int64_t offset, bool active);
  [[nodiscard]] bool valid_batch_at_or_after(std::size_t position) const noexcept;
  // Recovery: whether every batch before the last offset-index entry is
  // whole, checksummed and in offset order, ending exactly at that entry.
  [[nodiscard]] bool indexed_batches_intact(bool active) const noexcept;

  FileSystem& fs_;
  std::string dir_;
  std::int64_t base_offset_;
  SegmentConfig config_;
  std::string name_suffix_;  // "" or kCleanedSuffix while the cleaner writes a copy

  File log_file_, index_file_, time_file_;
  std::byte* log_map_ = nullptr;
  std::byte* index_map_ = nullptr;
  std::byte* time_map_ = nullptr;
  std::size_t log_bytes_ = 0, index_bytes_ = 0, time_bytes_ = 0;

  bool indexes_reset_ = false;  // an index file was missing or of another size at open

  // Writer-only state.
  std::size_t write_position_ = 0;     // end of the last appended batch's padding
  std::int64_t next_offset_;           // offset of the next batch
  std::size_t bytes_since_index_ = 0;  // log bytes appended since the last index entry
  std::int64_t time_index_max_;        // timestamp of the last time index entry

  // Written by the writer (release after the batch bytes), read by readers
  // (acquire) before they touch any byte below it.
  std::atomic<std::size_t> committed_position_{0};
  // Written by the writer (release after the entry bytes), read by readers
  // (acquire) before they read entries below the count.
  std::atomic<std::size_t> offset_entries_{0};
  std::atomic<std::size_t> time_entries_{0};
  // Bytes below are durable. Raised (never lowered, except by recovery
  // before any reader exists) by the writer's sync() and by sync_range() on
  // a syncing thread; relaxed, see unsynced_range().
  std::atomic<std::size_t> synced_position_{0};
  // Largest committed batch max_timestamp; relaxed (see max_timestamp()).
  std::atomic<std::int64_t> max_timestamp_;
};

}  // namespace rill::log
