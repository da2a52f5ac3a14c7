// rill dump SEGMENT_FILE and rill verify.
#include <algorithm>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "log/segment_format.hpp"
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

// Checks one partition; prints its line and returns false on damage.
bool verify_partition(const std::filesystem::path& folder, const std::string& label) {
  const std::vector<std::filesystem::path> files = segment_files(folder);
  std::size_t batches = 0;
  std::uint64_t records = 0;
  std::vector<std::string> damage;
  for (const std::filesystem::path& file : files) {
    const SegmentScan scan = scan_segment_file(file);
    batches += scan.batches.size();
    records += scan.record_count();
    for (const std::string& problem : scan.damage) {
      damage.push_back(fmt::format("{}: {}", file.filename().string(), problem));
    }
  }
  if (damage.empty()) {
    fmt::print("{}: ok, {} segment(s), {} batch(es), {} record(s)\n", label, files.size(), batches,
               records);
    return true;
  }
  fmt::print("{}: DAMAGED, {} problem(s)\n", label, damage.size());
  for (const std::string& problem : damage) fmt::print("  {}\n", problem);
  return false;
}

}  // namespace

int run_dump(const GlobalOptions& global, const ParsedCommand& args) {
  const std::filesystem::path file = locate_segment(global, args.positionals[0]);
  const SegmentScan scan = scan_segment_file(file);
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

// Recovery refused to open the node: check every partition folder found
// on disk instead, so that the damage is located.
// `internal_only` keeps the folders of internal topics ("__" names, such as
// the committed offsets), which the catalog does not list.
bool verify_folders(const std::filesystem::path& dir, bool internal_only) {
  std::vector<std::filesystem::path> folders;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (internal_only && entry.path().filename().string().rfind("__", 0) != 0) continue;
    if (entry.is_directory() && !segment_files(entry.path()).empty()) folders.push_back(entry.path());
  }
  std::sort(folders.begin(), folders.end());
  bool all_ok = true;
  for (const std::filesystem::path& folder : folders) {
    all_ok = verify_partition(folder, folder.filename().string()) && all_ok;
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
    (void)verify_folders(*global.dir, false);
    fmt::print("verdict: DAMAGED (recovery refused to open the node)\n");
    return kExitFailure;
  }
  bool all_ok = true;
  for (const std::string& name : node->list_topics()) {
    const TopicDescription description = node->describe_topic(name);
    if (description.options.storage != StorageKind::durable) continue;
    for (const PartitionInfo& p : description.partitions) {
      const std::string label = fmt::format("{}-{}", name, p.partition);
      all_ok = verify_partition(node->directory() / label, label) && all_ok;
    }
  }
  all_ok = verify_folders(node->directory(), true) && all_ok;
  fmt::print("verdict: {}\n", all_ok ? "ok" : "DAMAGED");
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace rill::cli
