// Fuzz target for loading a segment's indexes (src/log/segment_index.cpp,
// segment_recovery.cpp) against a valid log: the log file is always the
// same good one, written once per process by a real SegmentLog, and the
// input supplies its .index and .timeindex bytes.
//
// Input layout (fields past the end read as zero):
//   byte 0      flags: bit 0 overlay the input on the real .index (else
//               replace it), bit 1 the same for .timeindex; bit 2 leave the
//               .index out, bit 3 the .timeindex; bit 4 pad a replaced file
//               with zeros to the real file's size
//   byte 1      where an overlay starts, in 8-byte steps
//   bytes 2-3   length of the .index bytes, then those bytes; the rest are
//               the .timeindex bytes
//
// Properties: since the log is intact, open always succeeds (indexes are
// derived data: bad ones are rebuilt, never a reason to refuse) and finds
// every batch; read(o) returns the batch holding o for every offset o; and
// offset_for_timestamp(t) agrees with a linear scan of the batches for
// timestamps below, between, at and past theirs, whenever the time index
// is the real one, absent or zeros. A time index taken from the input is
// checked for order and each entry against the batch it names
// (segment_index.cpp), not against every batch before it, so an ordered
// one whose timestamps are too low for an unindexed batch is believed:
// then offset_for_timestamp may answer a later batch than the first one
// at or past t. For such inputs the answer must still be a batch whose
// max timestamp is at least t, never an earlier one than the linear
// scan's, and absent only when the scan finds none.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
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

struct BatchFacts {
  std::int64_t base_offset;
  std::int64_t last_offset;
  std::int64_t max_timestamp;
};

struct Template {
  std::vector<std::uint8_t> log, index, time_index;
  std::vector<BatchFacts> batches;
  std::int64_t end_offset = 0;
};

rill::log::SegmentLogOptions options() {
  rill::log::SegmentLogOptions o;
  o.segment_bytes = 16 * 1024;
  o.index_interval_bytes = 64;  // an entry every batch or two
  return o;
}

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Batches of 1 to 4 records whose timestamps mostly rise, with some going
// back, so that the time index (a running maximum) skips some batches.
Template make_template(const rill::fuzz::ScratchDir& scratch) {
  const std::string dir = scratch.fresh("template");
  Template t;
  {
    auto log = rill::log::SegmentLog::open(dir, options());
    for (int i = 0; i < 48; ++i) {
      rill::codec::BatchBuilder builder(4096);
      const int records = 1 + i % 4;
      const std::int64_t ts = 1000 + 10 * i - ((i % 5 == 3) ? 45 : 0);
      const std::string value(static_cast<std::size_t>(8 + (i * 7) % 40), static_cast<char>('a' + i % 26));
      for (int r = 0; r < records; ++r) {
        rill::Record record;
        record.value = value;
        check(builder.try_append(record, ts + r));
      }
      const auto bytes = builder.finish();
      const auto appended = log->append(bytes, records);
      t.batches.push_back({appended.base_offset, appended.base_offset + records - 1, ts + records - 1});
    }
    t.end_offset = log->end_offset();
    check(log->segment_base_offsets().size() == 1);
  }
  const std::string stem = dir + "/" + rill::log::segment_stem(0);
  t.log = read_all(stem + ".log");
  t.index = read_all(stem + ".index");
  t.time_index = read_all(stem + ".timeindex");
  check(!t.index.empty() && !t.time_index.empty());
  return t;
}

std::vector<std::uint8_t> index_file(const std::vector<std::uint8_t>& real, std::span<const std::uint8_t> input,
                                     bool overlay, std::size_t overlay_at, bool pad) {
  if (overlay) {
    std::vector<std::uint8_t> out = real;
    for (std::size_t i = 0; i < input.size() && overlay_at + i < out.size(); ++i) out[overlay_at + i] = input[i];
    return out;
  }
  std::vector<std::uint8_t> out(input.begin(), input.end());
  if (pad && out.size() < real.size()) out.resize(real.size(), 0);
  return out;
}

// The answer offset_for_timestamp must give, from the batch list.
std::optional<std::int64_t> expected_offset(const Template& t, std::int64_t timestamp) {
  for (const BatchFacts& b : t.batches) {
    if (b.max_timestamp >= timestamp) return b.base_offset;
  }
  return std::nullopt;
}

void check_offset_for_timestamp(const rill::log::SegmentLog& log, const Template& t, std::int64_t ts,
                                bool time_index_trusted) {
  const std::optional<std::int64_t> got = log.offset_for_timestamp(ts);
  const std::optional<std::int64_t> want = expected_offset(t, ts);
  if (time_index_trusted || !want) {
    check(got == want);
    return;
  }
  check(got.has_value() && *got >= *want);
  const auto batch = std::find_if(t.batches.begin(), t.batches.end(),
                                  [&](const BatchFacts& b) { return b.base_offset == *got; });
  check(batch != t.batches.end() && batch->max_timestamp >= ts);
}

void check_log(const rill::log::SegmentLog& log, const Template& t, bool time_index_trusted) {
  check(log.start_offset() == 0 && log.end_offset() == t.end_offset);
  for (const BatchFacts& b : t.batches) {
    for (std::int64_t o = b.base_offset; o <= b.last_offset; ++o) {
      const rill::log::ReadResult read = log.read(o, 1);
      check(read.status == rill::log::ReadStatus::ok);
      std::span<const std::byte> bytes = read.bytes;
      const rill::codec::BatchView batch = rill::log::next_batch(bytes);
      check(batch.valid() && batch.base_offset() == b.base_offset && batch.last_offset() == b.last_offset);
    }
  }
  check(log.read(t.end_offset, 1).status == rill::log::ReadStatus::at_end);
  for (const BatchFacts& b : t.batches) {
    for (std::int64_t ts : {b.max_timestamp - 1, b.max_timestamp, b.max_timestamp + 1}) {
      check_offset_for_timestamp(log, t, ts, time_index_trusted);
    }
  }
  check_offset_for_timestamp(log, t, INT64_MIN, time_index_trusted);
  check(!log.offset_for_timestamp(INT64_MAX).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const rill::fuzz::ScratchDir scratch("rill-fuzz-segment-index");
  static const Template good = make_template(scratch);
  rill::fuzz::InputReader in(data, size);
  const std::uint8_t flags = in.byte();
  const std::size_t overlay_at = std::size_t{in.byte()} * 8;
  const auto index_input = in.take(in.u16());
  const auto time_input = in.rest();
  const std::string dir = scratch.fresh("partition");
  const std::string stem = dir + "/" + rill::log::segment_stem(0);
  rill::fuzz::write_file(stem + ".log", good.log);
  if (!(flags & 4)) {
    rill::fuzz::write_file(stem + ".index", index_file(good.index, index_input, flags & 1, overlay_at, flags & 16));
  }
  if (!(flags & 8)) {
    rill::fuzz::write_file(stem + ".timeindex",
                           index_file(good.time_index, time_input, flags & 2, overlay_at, flags & 16));
  }
  auto log = rill::log::SegmentLog::open(dir, options(), rill::log::default_file_system(),
                                           [](const std::string&) {});
  // The real time index, none, or one of zeros (an overlay of zeros could
  // lower a real entry's timestamp, so it does not count).
  const bool overlaid = (flags & 2) != 0;
  const bool time_index_trusted =
      (flags & 8) || (overlaid && time_input.empty()) ||
      (!overlaid && std::all_of(time_input.begin(), time_input.end(), [](std::uint8_t b) { return b == 0; }));
  check_log(*log, good, time_index_trusted);
  return 0;
}

#define RILL_FUZZ_REPLAY_BUDGET 200
#include "fuzz_replay.hpp"
