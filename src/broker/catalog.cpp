#include "broker/catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <sstream>
#include <string_view>

#include "codec/batch_format.hpp"  // xxhash, header-only
#include "rill/error.hpp"
#include "base/names.hpp"

namespace rill::broker {
namespace {

std::uint64_t checksum_of(std::string_view bytes) noexcept { return XXH3_64bits(bytes.data(), bytes.size()); }

const char* storage_name(StorageKind kind) noexcept {
  return kind == StorageKind::durable ? "durable" : "memory";
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::corrupt,
              fmt::format("catalog \"{}\": {} (the directory was not written by this version of "
                          "rill, or the file was damaged; restore it or use another directory)",
                          path, what));
}

template <typename T>
bool parse_number(std::string_view text, T& out) noexcept {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_cleanup(std::string_view text, CleanupPolicy& out) noexcept {
  for (CleanupPolicy p : {CleanupPolicy::retention, CleanupPolicy::compact}) {
    if (text == to_string(p)) {
      out = p;
      return true;
    }
  }
  return false;
}

bool parse_fsync(std::string_view text, FsyncPolicy& out) noexcept {
  for (FsyncPolicy p : {FsyncPolicy::none, FsyncPolicy::interval, FsyncPolicy::every_batch}) {
    if (text == to_string(p)) {
      out = p;
      return true;
    }
  }
  return false;
}

// The fields of a topic line in `version`: version 2 added the last two.
constexpr const char* kKeys[] = {"name",          "partitions",      "storage",      "max_record_bytes",
                                 "segment_bytes", "retention_bytes", "retention_ms", "fsync",
                                 "fsync_interval_ms", "cleanup", "tombstone_retention_ms"};
constexpr std::size_t kVersion1Keys = 9;

std::size_t key_count(int version) noexcept { return version == 1 ? kVersion1Keys : std::size(kKeys); }

// One "topic key=value ..." line into an entry; returns why it is bad, or "".
// Fields a version-1 line lacks keep their TopicOptions defaults.
std::string parse_topic_line(std::string_view line, int version, CatalogEntry& e) {
  std::map<std::string, std::string, std::less<>> fields;
  std::istringstream in{std::string(line)};
  std::string word;
  in >> word;  // "topic"
  while (in >> word) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) return fmt::format("\"{}\" is not key=value", word);
    fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  const std::size_t keys = key_count(version);
  if (fields.size() != keys) return fmt::format("{} fields, expected {}", fields.size(), keys);
  for (std::size_t k = 0; k < keys; ++k) {
    if (!fields.count(kKeys[k])) return fmt::format("field \"{}\" is missing", kKeys[k]);
  }
  e.name = fields["name"];
  if (!base::is_valid_name(e.name)) return "the topic name is not valid";
  TopicOptions& o = e.options;
  o.storage = StorageKind::durable;
  std::int64_t retention_ms = 0;
  std::int64_t interval_ms = 0;
  std::int64_t tombstone_ms = o.tombstone_retention.count();
  bool ok = fields["storage"] == "durable" && parse_number(fields["partitions"], o.partitions) &&
            parse_number(fields["max_record_bytes"], o.max_record_bytes) &&
            parse_number(fields["segment_bytes"], o.segment_bytes) &&
            parse_number(fields["retention_bytes"], o.retention_bytes) &&
            parse_number(fields["retention_ms"], retention_ms) && parse_fsync(fields["fsync"], o.fsync) &&
            parse_number(fields["fsync_interval_ms"], interval_ms);
  if (ok && version >= 2) {
    ok = parse_cleanup(fields["cleanup"], o.cleanup) &&
         parse_number(fields["tombstone_retention_ms"], tombstone_ms);
  }
  if (!ok) return "a field has a bad value";
  o.retention_ms = std::chrono::milliseconds(retention_ms);
  o.fsync_interval = std::chrono::milliseconds(interval_ms);
  o.tombstone_retention = std::chrono::milliseconds(tombstone_ms);
  return {};
}

}  // namespace

std::string encode_catalog(const std::vector<CatalogEntry>& entries) {
  std::string text = fmt::format("{} {}\n", kCatalogMagic, kCatalogVersion);
  for (const CatalogEntry& e : entries) {
    const TopicOptions& o = e.options;
    text += fmt::format(
        "topic name={} partitions={} storage={} max_record_bytes={} segment_bytes={} "
        "retention_bytes={} retention_ms={} fsync={} fsync_interval_ms={} cleanup={} "
        "tombstone_retention_ms={}\n",
        e.name, o.partitions, storage_name(o.storage), o.max_record_bytes, o.segment_bytes,
        o.retention_bytes, o.retention_ms.count(), to_string(o.fsync), o.fsync_interval.count(),
        to_string(o.cleanup), o.tombstone_retention.count());
  }
  text += fmt::format("end topics={} checksum={:016x}\n", entries.size(), checksum_of(text));
  return text;
}

std::vector<CatalogEntry> decode_catalog(const std::string& text, const std::string& path) {
  const std::string magic = fmt::format("{} ", kCatalogMagic);
  const auto first_end = text.find('\n');
  if (text.compare(0, magic.size(), magic) != 0 || first_end == std::string::npos) {
    bad(path, fmt::format("does not start with \"{}{}\"", magic, kCatalogVersion));
  }
  const std::string version_text = text.substr(magic.size(), first_end - magic.size());
  int version = 0;
  if (!parse_number(version_text, version) || version < kOldestCatalogVersion || version > kCatalogVersion) {
    bad(path, fmt::format("version {} is not supported (this rill reads versions {} to {})", version_text,
                          kOldestCatalogVersion, kCatalogVersion));
  }
  const auto end_line = text.rfind("\nend ", text.size() - 1);
  if (end_line == std::string::npos || text.back() != '\n') bad(path, "the closing \"end\" line is missing");
  const std::string_view body(text.data(), end_line + 1);
  const std::string expected = fmt::format("end topics={} checksum={:016x}\n",
                                           std::count(body.begin(), body.end(), '\n') - 1, checksum_of(body));
  if (text.substr(end_line + 1) != expected) {
    bad(path, fmt::format("checksum or topic count does not match (found \"{}\")",
                          text.substr(end_line + 1, text.size() - end_line - 2)));
  }
  std::vector<CatalogEntry> entries;
  std::size_t line_number = 1;
  for (std::size_t at = first_end + 1; at < body.size();) {
    const std::size_t next = body.find('\n', at);
    const std::string_view line = body.substr(at, next - at);
    ++line_number;
    CatalogEntry e;
    if (line.substr(0, 6) != "topic ") bad(path, fmt::format("line {} is not a topic line", line_number));
    if (std::string why = parse_topic_line(line, version, e); !why.empty()) {
      bad(path, fmt::format("line {}: {}", line_number, why));
    }
    for (const CatalogEntry& other : entries) {
      if (other.name == e.name) bad(path, fmt::format("line {}: topic \"{}\" is listed twice", line_number, e.name));
    }
    entries.push_back(std::move(e));
    at = next + 1;
  }
  return entries;
}

std::vector<CatalogEntry> read_catalog(log::FileSystem& fs, const std::string& dir) {
  const std::string path = log::join_path(dir, kCatalogFileName);
  if (!fs.exists(path)) return {};
  const std::vector<std::byte> bytes = fs.read_file(path);
  return decode_catalog(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

void write_catalog(log::FileSystem& fs, const std::string& dir, const std::vector<CatalogEntry>& entries) {
  const std::string text = encode_catalog(entries);
  log::replace_file(fs, dir, kCatalogTempName, kCatalogFileName,
                    std::as_bytes(std::span<const char>(text.data(), text.size())));
}


}  // namespace rill::broker
