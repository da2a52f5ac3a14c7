#include "segment_scan.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <span>
#include <system_error>

#include <fmt/format.h>

#include "codec/batch_reader.hpp"
#include "log/segment_format.hpp"
#include "rill/error.hpp"

namespace rill::cli {

std::uint64_t SegmentScan::record_count() const noexcept {
  std::uint64_t total = 0;
  for (const BatchSummary& b : batches) total += b.record_count;
  return total;
}

namespace {

constexpr std::size_t kReadChunk = std::size_t{16} << 20;

std::vector<std::byte> read_file(const std::filesystem::path& file, const ScanProgress& progress) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (!in || ec) {
    throw Error(ErrorCode::io, fmt::format("cannot read '{}': {}", file.string(),
                                           ec ? ec.message() : std::strerror(errno)));
  }
  std::vector<std::byte> bytes(static_cast<std::size_t>(size));
  for (std::size_t done = 0; done < bytes.size();) {
    const std::size_t chunk = std::min(kReadChunk, bytes.size() - done);
    if (!in.read(reinterpret_cast<char*>(bytes.data() + done), static_cast<std::streamsize>(chunk))) {
      throw Error(ErrorCode::io, fmt::format("cannot read '{}': short read", file.string()));
    }
    done += chunk;
    if (progress) progress("reading", done, bytes.size());
  }
  return bytes;
}

bool all_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

// At the end of the data: the rest must be zero fill.
void check_zero_fill(std::span<const std::byte> bytes, std::size_t position, SegmentScan& scan) {
  const auto rest = std::span<const std::byte>(bytes).subspan(position);
  const auto first = std::find_if(rest.begin(), rest.end(), [](std::byte b) { return b != std::byte{0}; });
  if (first != rest.end()) {
    scan.damage.push_back(fmt::format("non-zero bytes at position {} after the end of the data at {}",
                                      position + static_cast<std::size_t>(first - rest.begin()),
                                      position));
  }
}

BatchSummary summarize(const codec::BatchView& batch, std::size_t position, bool checksum_ok) {
  return BatchSummary{position,
                      batch.base_offset(),
                      batch.last_offset(),
                      batch.record_count(),
                      batch.first_timestamp(),
                      batch.max_timestamp(),
                      batch.size_bytes(),
                      checksum_ok};
}

}  // namespace

SegmentScan scan_segment_file(const std::filesystem::path& file, const ScanProgress& progress) {
  SegmentScan scan;
  scan.name_base_offset = log::parse_segment_log_name(file.filename().string());
  const std::vector<std::byte> bytes = read_file(file, progress);
  scan.file_bytes = bytes.size();
  std::optional<std::int64_t> expected = scan.name_base_offset;
  // Compaction leaves gaps in a compacted partition's folder (it writes the
  // marker file there first): a batch may start above the expected offset,
  // never below it.
  std::error_code ec;
  const bool gaps_allowed =
      std::filesystem::exists(file.parent_path() / std::string(log::kCompactedMarker), ec);
  std::size_t position = 0;
  while (position < bytes.size()) {
    const auto rest = std::span<const std::byte>(bytes).subspan(position);
    if (all_zero(rest.first(std::min(rest.size(), codec::kBatchHeaderSize)))) {
      check_zero_fill(bytes, position, scan);
      break;
    }
    const codec::ParsedBatch header = codec::parse_batch(rest, false);
    if (header.status != codec::DecodeStatus::ok) {
      const bool torn = header.status == codec::DecodeStatus::incomplete;
      scan.damage.push_back(fmt::format("{} at position {}: {}", torn ? "torn batch" : "bad batch header",
                                        position + header.error.position, header.error.reason));
      break;
    }
    const bool checksum_ok = codec::parse_batch(rest, true).status == codec::DecodeStatus::ok;
    const BatchSummary summary = summarize(header.batch, position, checksum_ok);
    if (!checksum_ok) {
      scan.damage.push_back(fmt::format("checksum mismatch in the batch at position {}", position));
    }
    const bool offset_ok = !expected || summary.base_offset == *expected ||
                           (gaps_allowed && summary.base_offset > *expected);
    if (!offset_ok) {
      scan.damage.push_back(fmt::format("the batch at position {} starts at offset {}, expected {}",
                                        position, summary.base_offset, *expected));
    }
    expected = header.batch.next_offset();
    scan.batches.push_back(summary);
    position += codec::padded_batch_size(summary.size_bytes);
    if (progress) progress("checking", std::min(position, bytes.size()), bytes.size());
  }
  scan.data_end = std::min(position, bytes.size());
  return scan;
}

}  // namespace rill::cli
