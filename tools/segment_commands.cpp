// rill dump SEGMENT_FILE and rill verify: read-only unless --repair (the
// library's inspection, rill/inspect.hpp).
#include <algorithm>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "progress.hpp"
#include "rill/error.hpp"
#include "rill/inspect.hpp"

namespace rill::cli {

namespace {

// SEGMENT_FILE as given, or inside --dir when it is relative and not found.
std::filesystem::path locate_segment(const GlobalOptions& global, const std::string& name) {
  const std::filesystem::path given(name);
  std::error_code ec;
  if (global.dir && given.is_relative() && !std::filesystem::exists(given, ec)) {
    const std::filesystem::path inside = *global.dir / given;
    if (std::filesystem::exists(inside, ec)) return inside;
  }
  if (std::filesystem::is_directory(given, ec)) {
    throw UsageError(fmt::format("'{}' is a directory, not a segment file", name));
  }
  return given;
}

// A partition folder to verify and the name its line gives it.
struct PartitionFolder {
  std::filesystem::path folder;
  std::string label;
};

// "verify: orders-1 (partition 2 of 4), segment 1 of 3, checking 42%"
InspectProgress verify_progress(ProgressLine& line, const PartitionFolder& p, std::size_t index,
                                     std::size_t count, const std::pair<std::size_t, std::size_t>& segment) {
  if (!line.enabled()) return {};
  return [&line, &p, index, count, &segment](std::string_view phase, std::size_t done, std::size_t total) {
    if (!line.due()) return;
    line.update(fmt::format("verify: {} (partition {} of {}), segment {} of {}, {} {}%", p.label, index + 1,
                            count, segment.first + 1, segment.second, phase,
                            total == 0 ? 100 : done * 100 / total));
  };
}

// Checks one partition; prints its line and returns false on any problem.
bool verify_partition(const PartitionFolder& p, std::size_t index, std::size_t count, ProgressLine& line) {
  std::pair<std::size_t, std::size_t> segment{0, 0};  // which of how many, for the progress line
  const PartitionReport inspection =
      inspect_partition(p.folder, verify_progress(line, p, index, count, segment),
                             [&segment](std::size_t i, std::size_t n) { segment = {i, n}; });
  line.clear();  // the result line starts clean on a shared terminal
  if (!inspection.damaged()) {
    std::size_t batches = 0;
    std::uint64_t records = 0;
    for (const SegmentReport& s : inspection.segments) {
      batches += s.batches.size();
      records += s.record_count();
    }
    fmt::print("{}: ok, {} segment(s), {} batch(es), {} record(s)\n", p.label, inspection.segments.size(),
               batches, records);
    return true;
  }
  fmt::print("{}: DAMAGED, {} problem(s)\n", p.label, inspection.problem_count());
  auto print = [](const std::string& file, const InspectedProblem& problem) {
    fmt::print("  {}: {}: {}\n", file, problem.what, problem.consequence);
  };
  for (const SegmentReport& s : inspection.segments) {
    const std::string file = s.file.filename().string();
    for (const InspectedProblem& problem : s.problems) print(file, problem);
  }
  for (const InspectedProblem& problem : inspection.problems) print(p.label, problem);
  return false;
}

// A large file takes a while to read and check: say how far on a terminal.
SegmentReport inspect_with_progress(const std::filesystem::path& file) {
  ProgressLine line = ProgressLine::for_stderr();
  InspectProgress progress;
  if (line.enabled()) {
    progress = [&line, name = file.filename().string()](std::string_view phase, std::size_t done,
                                                        std::size_t total) {
      if (line.due()) line.update(fmt::format("dump: {} {} {}%", name, phase, total == 0 ? 100 : done * 100 / total));
    };
  }
  return inspect_segment(file, progress);  // the line is cleared before the batches are printed
}

}  // namespace

int run_dump(const GlobalOptions& global, const ParsedCommand& args) {
  const std::filesystem::path file = locate_segment(global, args.positionals[0]);
  const SegmentReport scan = inspect_with_progress(file);
  fmt::print("segment {}: {} bytes", file.filename().string(), scan.file_bytes);
  if (scan.base_offset) fmt::print(", base offset {}", *scan.base_offset);
  fmt::print("\n");
  for (const InspectedBatch& b : scan.batches) {
    fmt::print(
        "position {} bytes {} offsets {}..{} count {} first_timestamp {} max_timestamp {} "
        "checksum {}\n",
        b.position, b.size_bytes, b.base_offset, b.last_offset, b.record_count, b.first_timestamp,
        b.max_timestamp, b.checksum_ok ? "ok" : "BAD");
  }
  for (const InspectedProblem& problem : scan.problems) fmt::print("damage: {}\n", problem.what);
  if (!scan.problems.empty()) {
    fmt::print("verdict: DAMAGED ({} problem(s), {} batch(es) read)\n", scan.problems.size(),
               scan.batches.size());
    return kExitFailure;
  }
  fmt::print("verdict: ok ({} batch(es), {} record(s), data ends at position {})\n",
             scan.batches.size(), scan.record_count(), scan.data_end);
  return kExitOk;
}

namespace {

// The partition folders found on disk ("<topic>-<partition>", those of
// internal topics such as the committed offsets too), sorted.
std::vector<PartitionFolder> folders_on_disk(const std::filesystem::path& dir) {
  std::vector<PartitionFolder> folders;
  for (std::filesystem::path& folder : partition_folders(dir)) {
    std::string label = folder.filename().string();
    folders.push_back({std::move(folder), std::move(label)});
  }
  return folders;
}

// Checks every folder, with a progress line on a terminal; false on damage.
bool verify_all(const std::vector<PartitionFolder>& folders) {
  ProgressLine line = ProgressLine::for_stderr();
  bool all_ok = true;
  for (std::size_t i = 0; i < folders.size(); ++i) {
    all_ok = verify_partition(folders[i], i, folders.size(), line) && all_ok;
  }
  return all_ok;
}

}  // namespace

int run_verify(const GlobalOptions& global, const ParsedCommand& args) {
  if (args.has("--repair")) {
    // The one writing form: recovery with repair checks every batch and
    // cuts the log at the first damage, keeping .damaged copies.
    (void)open_node(global, false, true);
  }
  // Read-only from here: the catalog, then every partition folder on disk,
  // the internal ones (such as the committed offsets) included.
  const std::filesystem::path& dir = data_dir(global, false);
  const std::vector<std::string> catalog = inspect_catalog(dir);
  for (const std::string& problem : catalog) fmt::print("catalog: DAMAGED: {}\n", problem);
  const bool all_ok = verify_all(folders_on_disk(dir)) && catalog.empty();
  fmt::print("verdict: {}\n", all_ok ? "ok" : "DAMAGED");
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace rill::cli
