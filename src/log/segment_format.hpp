// The files of a durable segment: names, index entry layouts, limits.
// docs/log_format.md ("Segment files and indexes") is the byte-level
// specification; change one, change the other.
//
// A segment holds the batches of one contiguous range of offsets:
//   <base>.log        the batches, back to back, each starting at a multiple
//                     of 8 (zero padding between), then zero bytes up to the
//                     preallocated size. No file header: the name carries the
//                     base offset and every batch carries its magic.
//   <base>.index      OffsetIndexEntry records, one per index_interval_bytes
//                     of log, then zeros.
//   <base>.timeindex  TimeIndexEntry records, then zeros.
// <base> is the segment's first offset in decimal, zero-padded to 20 digits.
// Indexes are derived data: recovery checks them against the log and
// rebuilds them when they disagree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace rill::log {

inline constexpr std::size_t kOffsetDigits = 20;
inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
inline constexpr std::string_view kDamagedSuffix = ".damaged";  // appended to a ".log" name
// Appended to the three names while the log cleaner writes a compacted copy
// ("<base>.log.cleaned"); renamed over the originals when complete, deleted
// at open when left over.
inline constexpr std::string_view kCleanedSuffix = ".cleaned";
// An empty file in a partition folder, written before the first compacted
// segment is renamed into place: from then on offsets may skip (gaps inside
// closed segments and between segments are compaction, not damage).
inline constexpr std::string_view kCompactedMarker = "compacted";

// Log, index and time index sizes are multiples of this.
inline constexpr std::size_t kFileGranule = 4096;
// Positions and relative offsets in the indexes are uint32, so a segment is
// at most this large (and rolls before its offsets span 2^32).
inline constexpr std::size_t kMaxSegmentBytes = std::size_t{1} << 31;
inline constexpr std::size_t kMinSegmentBytes = kFileGranule;

// One sparse offset index entry: the batch starting at byte `position` of the
// log has base offset segment_base + relative_offset. Entries increase in
// both fields. An all-zero entry ends the index (no entry has position 0:
// the first batch needs none).
struct OffsetIndexEntry {
  std::uint32_t relative_offset;
  std::uint32_t position;
};

// One time index entry: every batch up to and including the one with base
// offset segment_base + relative_offset has max_timestamp <= timestamp (the
// running maximum there). Timestamps strictly increase from entry to entry.
// An entry whose relative_offset and timestamp are both zero ends the index.
struct TimeIndexEntry {
  std::int64_t timestamp;
  std::uint32_t relative_offset;
  std::uint32_t reserved;  // zero
};

static_assert(sizeof(OffsetIndexEntry) == 8, "offset index entries are 8 bytes");
static_assert(sizeof(TimeIndexEntry) == 16, "time index entries are 16 bytes");
static_assert(std::is_trivially_copyable_v<OffsetIndexEntry> &&
                  std::is_trivially_copyable_v<TimeIndexEntry>,
              "index entries are copied to and from mapped bytes");

// "00000000000000000042" for 42.
[[nodiscard]] std::string segment_stem(std::int64_t base_offset);
// The base offset of a "<20 digits>.log" name, or nullopt for any other name.
[[nodiscard]] std::optional<std::int64_t> parse_segment_log_name(std::string_view name) noexcept;
// Whether the n bytes at p are all zero: the clean end of a log or index
// file, whose preallocated space reads as zeros.
[[nodiscard]] bool all_zero(const std::byte* p, std::size_t n) noexcept;

}  // namespace rill::log
