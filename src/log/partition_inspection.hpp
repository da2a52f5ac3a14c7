// Inspecting a partition folder without changing it: what `rill verify` and
// `rill dump` report. Every segment file is read (O_RDONLY, pread) and every
// batch checked: header, checksum, offset order, zero padding, and zero fill
// after the data. Each problem found is then judged the way recovery judges
// it (judge_damage in recovery_point.hpp), so the report says what an open
// would do: refuse it, cut it as a torn tail, or leave it (padding). Nothing
// here opens a file for writing, maps it, or takes a lock; inspecting a
// folder that a running node appends to may report the batch it is writing
// as a torn tail. The formats are docs/log_format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "log/recovery_point.hpp"

namespace rill::log {

struct BatchSummary {
  std::size_t position = 0;  // byte offset of the batch in the file
  std::int64_t base_offset = 0;
  std::int64_t last_offset = 0;
  std::uint32_t record_count = 0;
  std::int64_t first_timestamp = 0;
  std::int64_t max_timestamp = 0;
  std::size_t size_bytes = 0;
  bool checksum_ok = false;
};

// What recovery (or a reader) does about a problem.
enum class ProblemFate {
  refused,       // acknowledged records: open refuses it, or a reader stops there with
                 // Error(corrupt); only a repair cuts it (keeping a .damaged copy)
  cut,           // past the last synced offset: the next open cuts it as a torn tail
  harmless,      // holds no record (padding between batches); nothing cuts it
  after_damage,  // lies after an earlier problem, where a repair or a cut would end the log
};

struct SegmentProblem {
  enum class Kind {
    damage,   // a batch that fails a check, or offsets missing between segments
    padding,  // non-zero bytes between two batches
    garbage,  // non-zero bytes after the end of the data (the zero fill)
  };
  Kind kind = Kind::damage;
  std::size_t position = 0;  // byte of the file
  std::int64_t offset = -1;  // the offset the bytes there should hold (-1: unknown)
  std::string what;
  ProblemFate fate = ProblemFate::refused;  // set by inspect_partition
  std::string consequence;                  // the fate in words, set by inspect_partition
};

struct SegmentInspection {
  std::string path;
  std::optional<std::int64_t> name_base_offset;  // from the file name, if it is a segment name
  std::size_t file_bytes = 0;
  std::size_t data_end = 0;      // where the batches end (the zero fill starts)
  std::int64_t next_offset = -1;  // after the last batch walked (-1: unknown)
  std::vector<BatchSummary> batches;
  std::vector<SegmentProblem> problems;  // in file order

  [[nodiscard]] std::uint64_t record_count() const noexcept;
};

struct PartitionInspection {
  std::string dir;
  std::optional<RecoveryPoint> recovery_point;  // absent or unreadable: nullopt
  bool rebooted = false;  // the recovery point names another boot of the machine
  std::vector<SegmentInspection> segments;  // oldest first
  // Problems of the folder as a whole (the log ends before the recovery
  // point); the segments hold their own.
  std::vector<SegmentProblem> problems;

  [[nodiscard]] bool damaged() const noexcept;
  [[nodiscard]] std::size_t problem_count() const noexcept;
};

// Told how far an inspection is: `phase` is "reading" or "checking", `done`
// of `total` bytes of the current file. Called often: keep it cheap.
using InspectProgress = std::function<void(std::string_view phase, std::size_t done, std::size_t total)>;
// Told when the inspection of a partition moves to the next segment file.
using SegmentStart = std::function<void(std::size_t segment, std::size_t segments)>;

// Walks the batches of one segment file's bytes. `gaps_allowed`: a batch
// may start above the expected offset (a compacted folder).
[[nodiscard]] SegmentInspection inspect_segment_bytes(std::span<const std::byte> bytes,
                                                      std::optional<std::int64_t> base_offset,
                                                      bool gaps_allowed,
                                                      const InspectProgress& progress = {});
// Reads and walks one segment file (problems are not judged: that needs the
// folder). Throws Error(io) naming the file when it cannot be read.
[[nodiscard]] SegmentInspection inspect_segment_file(const std::string& path,
                                                     const InspectProgress& progress = {});
// Every ".log" segment of a partition folder, oldest first, each walked and
// every problem judged. Throws Error(io) when the folder cannot be listed or
// a file cannot be read.
[[nodiscard]] PartitionInspection inspect_partition(const std::string& dir,
                                                    const InspectProgress& progress = {},
                                                    const SegmentStart& segment_start = {});

}  // namespace rill::log
