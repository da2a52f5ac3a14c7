// Fuzz target for opening a durable partition (src/log/partition_log.hpp):
// arbitrary bytes become the segment files of a partition folder, which
// SegmentLog::open then recovers, with repair on or off.
//
// Input layout (fields past the end read as zero):
//   byte 0      flags: bit 0 repair; bit 1 write a .index, bit 2 a .timeindex;
//               bit 3 split the log bytes into two segments; bits 4-5 pick
//               the first segment's base offset (0, 1, 4096, 2^40)
//   byte 1      for two segments: how far the second base is past the first
//   bytes 2-3   length of the log bytes (little-endian), then those bytes
//   bytes ...   length of the .index bytes, those bytes; the rest: .timeindex
//
// Properties: open never crashes; it returns a log or throws rill::Error.
// A log that opened reads back a dense run of whole batches covering
// [start_offset, end_offset) with increasing offsets; when no index file
// was given (so recovery scanned everything) every batch's checksum holds.
// A batch appended afterwards gets offset end_offset and reads back intact,
// and a second open, without repair, succeeds at the new end.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"
#include "fuzz_util.hpp"
#include "log/segment_log.hpp"
#include "log/segment_format.hpp"
#include "rill/error.hpp"

namespace {

using rill::fuzz::check;

struct Layout {
  bool repair = false;
  bool indexes_given = false;
};

// Writes the segment files the input describes into `dir`.
Layout write_segments(const std::string& dir, const std::uint8_t* data, std::size_t size) {
  rill::fuzz::InputReader in(data, size);
  const std::uint8_t flags = in.byte();
  const std::uint8_t second_gap = in.byte();
  static constexpr std::int64_t kBases[] = {0, 1, 4096, std::int64_t{1} << 40};
  const std::int64_t base = kBases[(flags >> 4) & 3];
  const auto log_bytes = in.take(in.u16());
  const auto index_bytes = in.take(in.u16());
  const auto time_bytes = in.rest();
  const std::string stem = dir + "/" + rill::log::segment_stem(base);
  if (flags & 8) {
    const std::size_t half = log_bytes.size() / 2 / 8 * 8;
    rill::fuzz::write_file(stem + ".log", log_bytes.first(half));
    const std::string second = dir + "/" + rill::log::segment_stem(base + second_gap);
    rill::fuzz::write_file(second + ".log", log_bytes.subspan(half));
  } else {
    rill::fuzz::write_file(stem + ".log", log_bytes);
  }
  if (flags & 2) rill::fuzz::write_file(stem + ".index", index_bytes);
  if (flags & 4) rill::fuzz::write_file(stem + ".timeindex", time_bytes);
  return Layout{(flags & 1) != 0, (flags & 6) != 0};
}

rill::log::SegmentLogOptions options(bool repair) {
  rill::log::SegmentLogOptions o;
  o.segment_bytes = 16 * 1024;
  o.index_interval_bytes = 64;
  o.repair = repair;
  return o;
}

// Reads every batch of `log`, checking the properties above.
void check_contents(const rill::log::SegmentLog& log, bool verify_checksums) {
  const std::int64_t start = log.start_offset();
  const std::int64_t end = log.end_offset();
  check(start <= end);
  std::int64_t next = start;
  while (next < end) {
    const rill::log::ReadResult read = log.read(next, 1 << 16);
    check(read.status == rill::log::ReadStatus::ok || read.status == rill::log::ReadStatus::corrupt);
    if (read.status != rill::log::ReadStatus::ok) return;  // damage before a closed segment's last index entry
    std::span<const std::byte> bytes = read.bytes;
    check(!bytes.empty());
    while (!bytes.empty()) {
      const rill::codec::BatchView batch = rill::log::next_batch(bytes);
      check(batch.valid());
      check(rill::codec::parse_batch(batch.bytes(), verify_checksums).status == rill::codec::DecodeStatus::ok);
      // The first batch may start before `next` (a read returns the batch holding it).
      check(batch.base_offset() <= next && batch.last_offset() >= next);
      check(batch.last_offset() < end);
      next = batch.last_offset() + 1;
    }
  }
  check(next == end);
}

std::vector<std::byte> probe_batch() {
  rill::codec::BatchBuilder builder(4096);
  rill::Record r;
  r.key = "probe-key";
  r.value = "probe-value";
  check(builder.try_append(r, 1234));
  const auto bytes = builder.finish();
  return {bytes.begin(), bytes.end()};
}

// Appends one batch to an opened log and reads it back.
void check_append(rill::log::SegmentLog& log) {
  static const std::vector<std::byte> batch = probe_batch();
  const std::int64_t end = log.end_offset();
  const rill::log::Appended appended = log.append(batch, 1);
  check(appended.base_offset == end && log.end_offset() == end + 1);
  const rill::log::ReadResult read = log.read(end, 1 << 16);
  check(read.status == rill::log::ReadStatus::ok);
  std::span<const std::byte> bytes = read.bytes;
  rill::codec::BatchView last;
  while (!bytes.empty()) last = rill::log::next_batch(bytes);
  check(last.valid() && last.base_offset() == end);
  check(rill::codec::parse_batch(last.bytes()).status == rill::codec::DecodeStatus::ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const rill::fuzz::ScratchDir scratch("rill-fuzz-segment-recovery");
  const std::string dir = scratch.fresh("partition");
  const Layout layout = write_segments(dir, data, size);
  const auto quiet = [](const std::string&) {};
  std::int64_t end = 0;
  try {
    auto log = rill::log::SegmentLog::open(dir, options(layout.repair), rill::log::default_file_system(), quiet);
    check_contents(*log, !layout.indexes_given);
    check_append(*log);
    end = log->end_offset();
  } catch (const rill::Error&) {
    return 0;  // refused: corrupt, io or invalid_argument, all with a message
  }
  // What one open recovered (and repaired), a second open takes as it is.
  auto again = rill::log::SegmentLog::open(dir, options(false), rill::log::default_file_system(), quiet);
  check(again->end_offset() == end);
  check_contents(*again, false);
  return 0;
}

#define RILL_FUZZ_REPLAY_BUDGET 200
#include "fuzz_replay.hpp"
