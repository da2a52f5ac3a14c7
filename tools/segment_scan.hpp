// Reading a segment file (<20 digits>.log) batch by batch, for `rill dump`
// and `rill verify`. Unlike recovery, the scan never changes the file and
// does not stop at a bad checksum when the batch's header is sound: it
// reports it and goes on to the next batch, so one damaged batch does not
// hide the rest. It stops at the end of the data (zero bytes, as a segment
// is preallocated with zeros), at a header it cannot trust, or at a batch
// that runs past the end of the file. The format is docs/log_format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rill::cli {

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

struct SegmentScan {
  std::optional<std::int64_t> name_base_offset;  // from the file name, if it is a segment name
  std::size_t file_bytes = 0;
  std::size_t data_end = 0;  // where the batches end (the zero fill starts)
  std::vector<BatchSummary> batches;
  std::vector<std::string> damage;  // one line per problem, with its byte position

  [[nodiscard]] bool damaged() const noexcept { return !damage.empty(); }
  [[nodiscard]] std::uint64_t record_count() const noexcept;
};

// Told how far a scan is: `phase` is "reading" or "checking", `done` of
// `total` bytes. Called often (per chunk read, per batch checked): keep it cheap.
using ScanProgress = std::function<void(std::string_view phase, std::size_t done, std::size_t total)>;

// Reads and checks the whole file. Throws rill::Error(io) when it cannot be
// read (the message names the file and the reason).
[[nodiscard]] SegmentScan scan_segment_file(const std::filesystem::path& file,
                                            const ScanProgress& progress = {});

}  // namespace rill::cli
