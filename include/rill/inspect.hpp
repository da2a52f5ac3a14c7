// Inspecting a data directory's partition folders without changing them:
// what `rill verify` and `rill dump` print, for any program to use.
//
// Every segment file is read through a read-only descriptor (no mapping, no
// lock, no write) and every batch checked: its header, its checksum, that it
// starts where the one before it ended, zero padding after it, and zero fill
// after the data. Each problem is then judged as Node::open's recovery
// judges it, so a report says what an open would do: refuse it (records that
// were acknowledged), cut it as a torn tail (past the last synced offset),
// or leave it (padding). docs/guarantees.md has the rules and
// docs/log_format.md the bytes.
//
// Thread-safety: the functions share no state; call them from any thread.
// A folder that a running node appends to may show the batch being written
// as a torn tail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rill {

// One batch of a segment file, as its header says.
struct InspectedBatch {
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
  refused,       // acknowledged records: an open refuses it, or a reader stops there with
                 // Error(corrupt); only a repair cuts it (keeping a .damaged copy)
  cut,           // past the last synced offset: the next open cuts it as a torn tail
  harmless,      // holds no record (padding between batches); nothing cuts it
  after_damage,  // lies after an earlier problem, where a repair or a cut ends the log
};

struct InspectedProblem {
  enum class Kind {
    damage,   // a batch that fails a check, or offsets missing between segments
    padding,  // non-zero bytes between two batches
    garbage,  // non-zero bytes after the end of the data (the zero fill)
  };
  Kind kind = Kind::damage;
  std::size_t position = 0;  // byte of the file
  std::int64_t offset = -1;  // the offset the bytes there should hold (-1: unknown)
  std::string what;          // e.g. "checksum mismatch in the batch at position 4096"
  // Set by inspect_partition (inspect_segment cannot judge: that needs the folder).
  ProblemFate fate = ProblemFate::refused;
  std::string consequence;  // the fate in words
};

struct SegmentReport {
  std::filesystem::path file;
  std::optional<std::int64_t> base_offset;  // from the file name, if it is a segment's name
  std::size_t file_bytes = 0;
  std::size_t data_end = 0;       // where the batches end (the zero fill starts)
  std::int64_t next_offset = -1;  // after the last batch walked (-1: unknown)
  std::vector<InspectedBatch> batches;
  std::vector<InspectedProblem> problems;  // in file order

  [[nodiscard]] std::uint64_t record_count() const noexcept;
};

struct PartitionReport {
  std::filesystem::path folder;
  // The partition's recovery point (offsets below it were synced or closed
  // in order), when its file is present and sound.
  std::optional<std::int64_t> recovery_offset;
  bool restarted = false;  // the recovery point names an earlier boot of the machine
  std::vector<SegmentReport> segments;  // oldest first
  // Problems of the folder as a whole (its log ends before the recovery
  // point); the segments hold their own.
  std::vector<InspectedProblem> problems;

  [[nodiscard]] bool damaged() const noexcept { return problem_count() > 0; }
  [[nodiscard]] std::size_t problem_count() const noexcept;
};

// Told how far an inspection is: `phase` is "reading" or "checking", `done`
// of `total` bytes of the current file. Called often: keep it cheap.
using InspectProgress = std::function<void(std::string_view phase, std::size_t done, std::size_t total)>;
// Told when the inspection of a partition moves to the next segment file.
using SegmentStart = std::function<void(std::size_t segment, std::size_t segments)>;

// Reads and walks one segment file (problems are not judged). Throws
// Error(io) naming the file when it cannot be read. May allocate the whole
// file's size.
[[nodiscard]] SegmentReport inspect_segment(const std::filesystem::path& file,
                                            const InspectProgress& progress = {});
// Every ".log" segment of a partition folder ("<topic>-<partition>" in a
// data directory), oldest first, each walked and every problem judged.
// Throws Error(io) when the folder cannot be listed or a file read.
[[nodiscard]] PartitionReport inspect_partition(const std::filesystem::path& folder,
                                                const InspectProgress& progress = {},
                                                const SegmentStart& segment_start = {});
// The problems of a data directory as a whole, as Node::open would meet
// them: a catalog ("rill.catalog") that is not rill's, of an unknown
// version or damaged (Node::open refuses it), and a partition of a durable
// topic in the catalog whose folder holds no segment file (Node::open
// would start it empty). One line each, naming the file or the partition;
// empty when there is none. Reads only. Throws Error(io) when the catalog
// cannot be read.
[[nodiscard]] std::vector<std::string> inspect_catalog(const std::filesystem::path& data_dir);

// The partition folders of a data directory that hold segment files (those
// of internal topics, such as the committed offsets, too), sorted. Throws
// Error(io) when the directory cannot be listed.
[[nodiscard]] std::vector<std::filesystem::path> partition_folders(const std::filesystem::path& data_dir);

}  // namespace rill
