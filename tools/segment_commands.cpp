// rill dump SEGMENT_FILE and rill verify.
#include <algorithm>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "log/segment_format.hpp"
#include "progress.hpp"
#include "rill/error.hpp"
#include "segment_scan.hpp"

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

// The ".log" files of a partition folder, oldest first.
std::vector<std::filesystem::path> segment_files(const std::filesystem::path& folder) {
  std::vector<std::pair<std::int64_t, std::filesystem::path>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (auto base = log::parse_segment_log_name(entry.path().filename().string())) {
      found.emplace_back(*base, entry.path());
    }
  }
  if (ec) {
    throw Error(ErrorCode::io, fmt::format("cannot list '{}': {}", folder.string(), ec.message()));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::filesystem::path> files;
  for (auto& [base, path] : found) files.push_back(std::move(path));
  return files;
}

// A partition folder to verify and the name its line gives it.
struct PartitionFolder {
  std::filesystem::path folder;
  std::string label;
};

// "verify: orders-1 (partition 2 of 4), segment 1 of 3, checking 42%"
ScanProgress verify_progress(ProgressLine& line, const PartitionFolder& p, std::size_t index, std::size_t count,
                             std::size_t segment, std::size_t segments) {
  if (!line.enabled()) return {};
  return [&line, &p, index, count, segment, segments](std::string_view phase, std::size_t done,
                                                      std::size_t total) {
    if (!line.due()) return;
    line.update(fmt::format("verify: {} (partition {} of {}), segment {} of {}, {} {}%", p.label, index + 1,
                            count, segment + 1, segments, phase, total == 0 ? 100 : done * 100 / total));
  };
}

// Checks one partition; prints its line and returns false on damage.
bool verify_partition(const PartitionFolder& p, std::size_t index, std::size_t count, ProgressLine& line) {
  const std::vector<std::filesystem::path> files = segment_files(p.folder);
  const std::string& label = p.label;
  std::size_t batches = 0;
  std::uint64_t records = 0;
  std::vector<std::string> damage;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const std::filesystem::path& file = files[f];
    const SegmentScan scan = scan_segment_file(file, verify_progress(line, p, index, count, f, files.size()));
    batches += scan.batches.size();
    records += scan.record_count();
    for (const std::string& problem : scan.damage) {
      damage.push_back(fmt::format("{}: {}", file.filename().string(), problem));
    }
  }
  line.clear();  // the result line starts clean on a shared terminal
  if (damage.empty()) {
    fmt::print("{}: ok, {} segment(s), {} batch(es), {} record(s)\n", label, files.size(), batches,
               records);
    return true;
  }
  fmt::print("{}: DAMAGED, {} problem(s)\n", label, damage.size());
  for (const std::string& problem : damage) fmt::print("  {}\n", problem);
  return false;
}

// A large file takes a while to read and check: say how far on a terminal.
SegmentScan scan_with_progress(const std::filesystem::path& file) {
  ProgressLine line = ProgressLine::for_stderr();
  ScanProgress progress;
  if (line.enabled()) {
    progress = [&line, name = file.filename().string()](std::string_view phase, std::size_t done,
                                                        std::size_t total) {
      if (line.due()) line.update(fmt::format("dump: {} {} {}%", name, phase, total == 0 ? 100 : done * 100 / total));
    };
  }
  return scan_segment_file(file, progress);  // the line is cleared before the batches are printed
}

}  // namespace

int run_dump(const GlobalOptions& global, const ParsedCommand& args) {
  const std::filesystem::path file = locate_segment(global, args.positionals[0]);
  const SegmentScan scan = scan_with_progress(file);
  fmt::print("segment {}: {} bytes", file.filename().string(), scan.file_bytes);
  if (scan.name_base_offset) fmt::print(", base offset {}", *scan.name_base_offset);
  fmt::print("\n");
  for (const BatchSummary& b : scan.batches) {
    fmt::print(
        "position {} bytes {} offsets {}..{} count {} first_timestamp {} max_timestamp {} "
        "checksum {}\n",
        b.position, b.size_bytes, b.base_offset, b.last_offset, b.record_count, b.first_timestamp,
        b.max_timestamp, b.checksum_ok ? "ok" : "BAD");
  }
  for (const std::string& problem : scan.damage) fmt::print("damage: {}\n", problem);
  if (scan.damaged()) {
    fmt::print("verdict: DAMAGED ({} problem(s), {} batch(es) read)\n", scan.damage.size(),
               scan.batches.size());
    return kExitFailure;
  }
  fmt::print("verdict: ok ({} batch(es), {} record(s), data ends at position {})\n",
             scan.batches.size(), scan.record_count(), scan.data_end);
  return kExitOk;
}

namespace {

// The partition folders found on disk, sorted (when recovery refused to open
// the node, so that the damage is still located). `internal_only` keeps the
// folders of internal topics ("__" names, such as the committed offsets),
// which the catalog does not list.
std::vector<PartitionFolder> folders_on_disk(const std::filesystem::path& dir, bool internal_only) {
  std::vector<PartitionFolder> folders;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (internal_only && entry.path().filename().string().rfind("__", 0) != 0) continue;
    if (entry.is_directory() && !segment_files(entry.path()).empty()) {
      folders.push_back({entry.path(), entry.path().filename().string()});
    }
  }
  std::sort(folders.begin(), folders.end(), [](const auto& a, const auto& b) { return a.folder < b.folder; });
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
  std::optional<Node> node;
  try {
    node.emplace(open_node(global, false, args.has("--repair")));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::corrupt) throw;
    fmt::print(stderr, "rill: error (corrupt): {}\n(rill verify --repair does that)\n", e.what());
    (void)verify_all(folders_on_disk(*global.dir, false));
    fmt::print("verdict: DAMAGED (recovery refused to open the node)\n");
    return kExitFailure;
  }
  std::vector<PartitionFolder> folders;
  for (const std::string& name : node->list_topics()) {
    const TopicDescription description = node->describe_topic(name);
    if (description.options.storage != StorageKind::durable) continue;
    for (const PartitionInfo& p : description.partitions) {
      const std::string label = fmt::format("{}-{}", name, p.partition);
      folders.push_back({node->directory() / label, label});
    }
  }
  for (PartitionFolder& internal : folders_on_disk(node->directory(), true)) folders.push_back(std::move(internal));
  const bool all_ok = verify_all(folders);
  fmt::print("verdict: {}\n", all_ok ? "ok" : "DAMAGED");
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace rill::cli
