#include "log/partition_inspection.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "codec/batch_reader.hpp"
#include "log/file_system.hpp"
#include "log/recovery_point.hpp"
#include "log/segment_format.hpp"
#include "rill/error.hpp"

namespace rill {

std::uint64_t SegmentReport::record_count() const noexcept {
  std::uint64_t total = 0;
  for (const InspectedBatch& b : batches) total += b.record_count;
  return total;
}

std::size_t PartitionReport::problem_count() const noexcept {
  std::size_t n = problems.size();
  for (const SegmentReport& s : segments) n += s.problems.size();
  return n;
}

namespace {

using log::DamageVerdict;
using log::RecoveryContext;

constexpr std::size_t kReadChunk = std::size_t{16} << 20;

[[noreturn]] void throw_read_error(const std::string& path, int error) {
  throw Error(ErrorCode::io, fmt::format("cannot read '{}': {}", path, std::strerror(error)));
}

// The whole file, read with pread from a read-only descriptor.
std::vector<std::byte> read_whole_file(const std::string& path, const InspectProgress& progress) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_read_error(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw_read_error(path, error);
  }
  std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
  for (std::size_t done = 0; done < bytes.size();) {
    const std::size_t chunk = std::min(kReadChunk, bytes.size() - done);
    const ssize_t n = ::pread(fd, bytes.data() + done, chunk, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      ::close(fd);
      if (n == 0) throw Error(ErrorCode::io, fmt::format("cannot read '{}': short read", path));
      throw_read_error(path, error);
    }
    done += static_cast<std::size_t>(n);
    if (progress) progress("reading", done, bytes.size());
  }
  ::close(fd);
  return bytes;
}

std::size_t first_non_zero(std::span<const std::byte> bytes) noexcept {
  const auto it = std::find_if(bytes.begin(), bytes.end(), [](std::byte b) { return b != std::byte{0}; });
  return static_cast<std::size_t>(it - bytes.begin());
}

InspectedBatch summarize(const codec::BatchView& batch, std::size_t position, bool checksum_ok) {
  return InspectedBatch{position,
                      batch.base_offset(),
                      batch.last_offset(),
                      batch.record_count(),
                      batch.first_timestamp(),
                      batch.max_timestamp(),
                      batch.size_bytes(),
                      checksum_ok};
}

using Kind = InspectedProblem::Kind;

void add(SegmentReport& s, Kind kind, std::size_t position, std::int64_t offset, std::string what) {
  s.problems.push_back(InspectedProblem{kind, position, offset, std::move(what), ProblemFate::refused, {}});
}

// Whether a batch with a sound checksum starts after byte `position` of
// segment `index`, or any later segment holds a batch.
bool valid_data_after(const PartitionReport& p, std::size_t index, std::size_t position) {
  for (const InspectedBatch& b : p.segments[index].batches) {
    if (b.position > position && b.checksum_ok) return true;
  }
  for (std::size_t i = index + 1; i < p.segments.size(); ++i) {
    if (!p.segments[i].batches.empty()) return true;
  }
  return false;
}

std::string consequence_of(DamageVerdict verdict, const RecoveryContext& context, std::int64_t at,
                           bool valid_after) {
  if (verdict == DamageVerdict::cut_torn_tail) {
    if (!valid_after) {
      return fmt::format("past the last synced offset {}, with nothing valid after it: a torn tail, "
                         "which the next open cuts",
                         context.recovery_offset);
    }
    return fmt::format("past the last synced offset {}, written before the machine restarted: the "
                       "next open cuts the log here, keeping a .damaged copy",
                       context.recovery_offset);
  }
  const std::string why =
      at < context.recovery_offset
          ? fmt::format("offsets from {} on were synced or closed in order (the recovery point is at "
                        "offset {})",
                        at, context.recovery_offset)
          : std::string("valid data follows it");
  return why + ": an open refuses it, or a reader stops in front of it with Error(corrupt); nothing "
               "is cut without rill verify --repair";
}

// Judges every problem in log order, as recovery would meet them.
void judge(PartitionReport& p) {
  const RecoveryContext context{p.recovery_offset.value_or(0), p.restarted};
  bool decided = false;  // the first damage has been judged: what follows it goes with it
  for (std::size_t i = 0; i < p.segments.size(); ++i) {
    for (InspectedProblem& problem : p.segments[i].problems) {
      const bool closed = i + 1 < p.segments.size();
      if (problem.kind == Kind::padding) {
        problem.fate = ProblemFate::harmless;
        problem.consequence = "no record is affected; nothing cuts it";
      } else if (problem.kind == Kind::garbage && closed &&
                 problem.position >= p.segments[i].data_end + log::kFileGranule) {
        // Recovery checks a closed segment's zero fill for one granule only.
        problem.fate = ProblemFate::harmless;
        problem.consequence = "in the zero fill of a closed segment: no record is affected; nothing cuts it";
      } else if (decided) {
        problem.fate = ProblemFate::after_damage;
        problem.consequence = "after the damage above";
      } else {
        decided = true;
        const bool after = valid_data_after(p, i, problem.position);
        // Unknown offsets are judged as synced ones: never a tail to cut.
        const std::int64_t at = problem.offset >= 0 ? problem.offset : std::numeric_limits<std::int64_t>::min();
        const DamageVerdict verdict = log::judge_damage(context, at, after);
        problem.fate = verdict == DamageVerdict::cut_torn_tail ? ProblemFate::cut : ProblemFate::refused;
        problem.consequence = consequence_of(verdict, context, at, after);
      }
    }
  }
  if (decided || p.segments.empty()) return;
  const SegmentReport& last = p.segments.back();
  const std::int64_t end = last.next_offset;
  if (end >= 0 && end < context.recovery_offset) {
    p.problems.push_back(InspectedProblem{
        Kind::damage, last.data_end, end,
        fmt::format("the log ends at offset {}, short of the recovery point at offset {}", end,
                    context.recovery_offset),
        ProblemFate::refused,
        "records that were synced or closed in order are missing: an open refuses it; rill verify "
        "--repair accepts the log as it is"});
  }
}

}  // namespace

namespace log {

SegmentReport inspect_segment_bytes(std::span<const std::byte> bytes, std::optional<std::int64_t> base_offset,
                                        bool gaps_allowed, const InspectProgress& progress) {
  SegmentReport s;
  s.base_offset = base_offset;
  s.file_bytes = bytes.size();
  // The offset the next batch must start with, when known (a plain pair:
  // gcc 12 misreads an optional here as maybe uninitialized).
  bool known = base_offset.has_value();
  std::int64_t expected = base_offset.value_or(0);
  const auto expected_or = [&](std::int64_t otherwise) { return known ? expected : otherwise; };
  std::size_t position = 0;
  while (position < bytes.size()) {
    const std::span<const std::byte> rest = bytes.subspan(position);
    if (all_zero(rest.data(), std::min(rest.size(), codec::kBatchHeaderSize))) {
      // The end of the data: the rest must be zero fill.
      const std::size_t at = first_non_zero(rest);
      if (at != rest.size()) {
        add(s, Kind::garbage, position + at, expected_or(-1),
            fmt::format("non-zero bytes at position {} after the end of the data at {}", position + at, position));
      }
      break;
    }
    const codec::ParsedBatch header = codec::parse_batch(rest, false);
    if (header.status != codec::DecodeStatus::ok) {
      const bool torn = header.status == codec::DecodeStatus::incomplete;
      add(s, Kind::damage, position, expected_or(-1),
          fmt::format("{} at position {}: {} (byte {})", torn ? "torn batch" : "bad batch header", position,
                      header.error.reason, position + header.error.position));
      // Go on at the next whole batch, so that what follows is reported too.
      const std::optional<codec::WholeBatch> next = codec::find_whole_batch(
          bytes, position + codec::kBatchAlignment, expected_or(std::numeric_limits<std::int64_t>::min()));
      if (!next) break;
      position = next->position;
      known = false;  // the offsets in the damaged bytes are unknown
      continue;
    }
    const codec::BatchView& batch = header.batch;
    const bool checksum_ok = codec::compute_checksum(rest.first(batch.size_bytes())) == batch.checksum();
    const std::int64_t at = expected_or(batch.base_offset());
    if (!checksum_ok) {
      add(s, Kind::damage, position, at, fmt::format("checksum mismatch in the batch at position {}", position));
    }
    if (known && batch.base_offset() != expected && !(gaps_allowed && batch.base_offset() > expected)) {
      add(s, Kind::damage, position, at,
          fmt::format("the batch at position {} starts at offset {}, expected {}", position, batch.base_offset(),
                      expected));
    }
    const std::size_t padded = std::min(codec::padded_batch_size(batch.size_bytes()), rest.size());
    const std::span<const std::byte> padding = rest.subspan(batch.size_bytes(), padded - batch.size_bytes());
    if (const std::size_t nz = first_non_zero(padding); nz != padding.size()) {
      add(s, Kind::padding, position + batch.size_bytes() + nz, -1,
          fmt::format("non-zero padding byte at position {} after the batch at position {}",
                      position + batch.size_bytes() + nz, position));
    }
    s.batches.push_back(summarize(batch, position, checksum_ok));
    expected = batch.next_offset();
    known = true;
    position += padded;
    if (progress) progress("checking", position, bytes.size());
  }
  s.data_end = std::min(position, bytes.size());
  s.next_offset = expected_or(-1);
  return s;
}

std::vector<std::pair<std::int64_t, std::filesystem::path>> segment_files(const std::filesystem::path& folder) {
  std::vector<std::pair<std::int64_t, std::filesystem::path>> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (auto base = parse_segment_log_name(entry.path().filename().string())) files.emplace_back(*base, entry.path());
  }
  if (ec) throw Error(ErrorCode::io, fmt::format("cannot list '{}': {}", folder.string(), ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace log

SegmentReport inspect_segment(const std::filesystem::path& file, const InspectProgress& progress) {
  const std::vector<std::byte> bytes = read_whole_file(file.string(), progress);
  std::error_code ec;
  // Compaction leaves gaps in a folder it marks first (log_cleaner.hpp).
  const bool gaps_allowed = std::filesystem::exists(file.parent_path() / std::string(log::kCompactedMarker), ec);
  SegmentReport s = log::inspect_segment_bytes(bytes, log::parse_segment_log_name(file.filename().string()),
                                               gaps_allowed, progress);
  s.file = file;
  return s;
}

PartitionReport inspect_partition(const std::filesystem::path& folder, const InspectProgress& progress,
                                  const SegmentStart& segment_start) {
  PartitionReport p;
  p.folder = folder;
  const std::vector<std::pair<std::int64_t, std::filesystem::path>> files = log::segment_files(folder);
  // read_recovery_point and boot_id only read files.
  log::FileSystem& fs = log::default_file_system();
  const std::optional<log::RecoveryPoint> point = log::read_recovery_point(fs, folder.string());
  const std::string boot = fs.boot_id();
  if (point) p.recovery_offset = point->offset;
  p.restarted = point && !boot.empty() && point->boot_id != boot;
  std::error_code ec;
  const bool gaps_allowed = std::filesystem::exists(folder / std::string(log::kCompactedMarker), ec);
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (segment_start) segment_start(i, files.size());
    const std::vector<std::byte> bytes = read_whole_file(files[i].second.string(), progress);
    SegmentReport s = log::inspect_segment_bytes(bytes, files[i].first, gaps_allowed, progress);
    s.file = files[i].second;
    if (!p.segments.empty()) {
      // The segment before must end where this one starts (below it, when compacted).
      SegmentReport& before = p.segments.back();
      const std::int64_t end = before.next_offset;
      const bool follows = end == files[i].first || (gaps_allowed && end >= 0 && end < files[i].first);
      if (!follows && before.problems.empty()) {
        add(before, Kind::damage, before.data_end, end,
            fmt::format("the segment ends at offset {} but the next one starts at {}", end, files[i].first));
      }
    }
    p.segments.push_back(std::move(s));
  }
  judge(p);
  return p;
}

std::vector<std::filesystem::path> partition_folders(const std::filesystem::path& data_dir) {
  std::vector<std::filesystem::path> folders;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    if (entry.is_directory() && !log::segment_files(entry.path()).empty()) folders.push_back(entry.path());
  }
  if (ec) throw Error(ErrorCode::io, fmt::format("cannot list '{}': {}", data_dir.string(), ec.message()));
  std::sort(folders.begin(), folders.end());
  return folders;
}

}  // namespace rill
