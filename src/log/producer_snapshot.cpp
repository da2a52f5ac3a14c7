// Producer-state snapshot files (producer_snapshot.hpp).
#include "log/producer_snapshot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "log/producer_state.hpp"
#include "log/segment_format.hpp"

namespace rill::log {

std::optional<std::int64_t> parse_snapshot_name(std::string_view name) noexcept {
  if (name.size() != kOffsetDigits + kSnapshotSuffix.size() || !name.ends_with(kSnapshotSuffix)) {
    return std::nullopt;
  }
  const char* first = name.data();
  const char* last = first + kOffsetDigits;
  if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc() || end != last) return std::nullopt;
  return value;
}

std::string snapshot_path(const std::string& dir, std::int64_t offset) {
  return join_path(dir, segment_stem(offset) + std::string(kSnapshotSuffix));
}

std::vector<std::int64_t> list_snapshots(FileSystem& fs, const std::string& dir) {
  std::vector<std::int64_t> offsets;
  for (const std::string& name : fs.list_directory(dir)) {
    if (auto offset = parse_snapshot_name(name)) offsets.push_back(*offset);
  }
  std::sort(offsets.begin(), offsets.end());
  return offsets;
}

void write_snapshot(FileSystem& fs, const std::string& dir, std::int64_t offset,
                    const ProducerStateTable& table, bool durable) {
  const std::vector<std::byte> bytes = table.encode(offset);
  const std::string stem = segment_stem(offset);
  replace_file(fs, dir, stem + std::string(kSnapshotTempSuffix), stem + std::string(kSnapshotSuffix), bytes,
               durable);
}

void remove_snapshot_leftovers(FileSystem& fs, const std::string& dir) {
  for (const std::string& name : fs.list_directory(dir)) {
    if (name.ends_with(kSnapshotTempSuffix)) fs.unlink(join_path(dir, name));
  }
}

}  // namespace rill::log
