// Fuzz target for the read-only inspection of a segment file
// (src/log/partition_inspection.hpp, what `rill verify` and `rill dump`
// print): arbitrary bytes are one segment file's content.
//
// Input layout: byte 0 bit 0 allows offset gaps (a compacted folder), bits
// 1-2 pick the base offset (0, 1, 4096, 2^40); the rest is the file.
//
// Properties: never crashes. Batches are listed in increasing position,
// each inside the bytes, with data_end at or after the last one's end.
// With no problem reported, every batch's checksum holds, offsets follow
// each other from the base (or rise, with gaps allowed), and every byte
// after data_end is zero.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "codec/batch_format.hpp"
#include "fuzz_util.hpp"
#include "log/partition_inspection.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using rill::fuzz::check;
  if (size == 0) return 0;
  static constexpr std::int64_t kBases[] = {0, 1, 4096, std::int64_t{1} << 40};
  const bool gaps = (data[0] & 1) != 0;
  const std::int64_t base = kBases[(data[0] >> 1) & 3];
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  const rill::SegmentReport s = rill::log::inspect_segment_bytes(bytes, base, gaps);
  check(s.file_bytes == bytes.size());
  check(s.data_end <= bytes.size());
  std::size_t previous_end = 0;
  std::optional<std::int64_t> expected = base;
  for (const rill::InspectedBatch& b : s.batches) {
    check(b.position >= previous_end);
    check(b.position % rill::codec::kBatchAlignment == 0);
    check(b.size_bytes >= rill::codec::kBatchHeaderSize && b.position + b.size_bytes <= bytes.size());
    check(b.last_offset >= b.base_offset);
    if (s.problems.empty()) {
      check(b.checksum_ok);
      check(expected && (b.base_offset == *expected || (gaps && b.base_offset > *expected)));
    }
    expected = b.last_offset + 1;
    previous_end = b.position + b.size_bytes;
  }
  check(s.data_end >= previous_end);
  for (const rill::InspectedProblem& p : s.problems) check(!p.what.empty() && p.position <= bytes.size());
  if (s.problems.empty()) {
    for (std::size_t i = s.data_end; i < bytes.size(); ++i) check(bytes[i] == std::byte{0});
  }
  return 0;
}

#include "fuzz_replay.hpp"
