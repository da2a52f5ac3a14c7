// Segment: append and zero-copy reads through the sparse indexes, roll-over
// when full, time lookups, reopening, and a reader racing the writer.
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"
#include "log/segment_log.hpp"
#include "log/segment.hpp"

namespace {

using namespace rill::log;
using Bytes = std::vector<std::byte>;

// A fresh directory per test, removed afterwards.
struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-segment", true) {}
};

using rill::test::make_batch;

using rill::test::records_of;

SegmentConfig small_config() { return SegmentConfig{8192, 256}; }

}  // namespace

TEST_CASE("segment names: base offsets are zero-padded to 20 digits", "[log]") {
  CHECK(segment_stem(42) == "00000000000000000042");
  CHECK(parse_segment_log_name("00000000000000000042.log") == 42);
  CHECK_FALSE(parse_segment_log_name("00000000000000000042.index").has_value());
  CHECK_FALSE(parse_segment_log_name("0000000000000000042.log").has_value());
  CHECK_FALSE(parse_segment_log_name("0000000000000000004x.log").has_value());
  CHECK_FALSE(parse_segment_log_name("00000000000000000042.log.damaged").has_value());
}

TEST_CASE("segment: appended batches get consecutive offsets and read back zero-copy", "[log]") {
  TempDir dir;
  auto segment = Segment::create(default_file_system(), dir.path(), 100, small_config());
  CHECK(std::filesystem::file_size(dir.path() + "/00000000000000000100.log") == 8192);
  CHECK(std::filesystem::exists(dir.path() + "/00000000000000000100.index"));
  CHECK(std::filesystem::exists(dir.path() + "/00000000000000000100.timeindex"));

  const Bytes a = make_batch(3, 1000, "a"), b = make_batch(2, 2000, "b");
  REQUIRE(segment->try_append(a) == SegmentAppend::ok);
  REQUIRE(segment->try_append(b) == SegmentAppend::ok);
  CHECK(segment->next_offset() == 105);
  CHECK(segment->committed_bytes() == rill::codec::padded_batch_size(a.size()) +
                                          rill::codec::padded_batch_size(b.size()));

  const auto all = segment->read_from(100, 1 << 20);
  CHECK(records_of(all) == std::vector<std::pair<std::int64_t, std::string>>{
                               {100, "a/0"}, {101, "a/1"}, {102, "a/2"}, {103, "b/0"}, {104, "b/1"}});
  // The batch holding offset 104 starts at 103; a tiny limit still returns one batch.
  const auto one = segment->read_from(104, 1);
  CHECK(rill::codec::read_base_offset(one) == 103);
  CHECK(one.size() == b.size());
  // Zero copy: the span points into the mapping, where the first batch starts.
  CHECK(all.data() + rill::codec::padded_batch_size(a.size()) == one.data());
  CHECK(segment->read_from(105, 1 << 20).empty());
  CHECK(segment->read_from(99, 1 << 20).empty());
}

TEST_CASE("segment: every offset is found through the sparse index", "[log]") {
  TempDir dir;
  auto segment = Segment::create(default_file_system(), dir.path(), 0, small_config());
  std::int64_t next = 0;
  while (segment->try_append(make_batch(2, 5000 + next, "r" + std::to_string(next))) ==
         SegmentAppend::ok) {
    next += 2;
  }
  REQUIRE(next > 40);
  REQUIRE(segment->next_offset() == next);
  for (std::int64_t o = 0; o < next; ++o) {
    const auto records = records_of(segment->read_from(o, 1));
    REQUIRE(records.size() == 2);
    CHECK(records[o % 2].first == o);
    CHECK(records[0].second == "r" + std::to_string(o - o % 2) + "/0");
  }
  // The index file holds increasing entries, one per ~256 bytes of log.
  const Bytes index = default_file_system().read_file(dir.path() + "/00000000000000000000.index");
  std::size_t entries = 0;
  OffsetIndexEntry previous{0, 0};
  for (std::size_t at = 0; at + 8 <= index.size(); at += 8, ++entries) {
    OffsetIndexEntry e;
    std::memcpy(&e, index.data() + at, sizeof e);
    if (e.position == 0) break;
    // At least the interval apart, and at most the interval plus one batch.
    CHECK(e.position - previous.position >= 256);
    CHECK(e.position - previous.position < 256 + 128);
    CHECK(e.relative_offset > previous.relative_offset);
    previous = e;
  }
  CHECK(entries >= segment->committed_bytes() / (256 + 128));
}

TEST_CASE("segment: a batch that does not fit reports full and changes nothing", "[log]") {
  TempDir dir;
  auto segment = Segment::create(default_file_system(), dir.path(), 0, SegmentConfig{4096, 1024});
  const Bytes batch = make_batch(20, 0, "fill");
  std::size_t appended = 0;
  while (segment->try_append(batch) == SegmentAppend::ok) ++appended;
  CHECK(appended == 4096 / rill::codec::padded_batch_size(batch.size()));
  const std::size_t committed = segment->committed_bytes();
  CHECK(segment->try_append(batch) == SegmentAppend::full);
  CHECK(segment->committed_bytes() == committed);
  CHECK(segment->next_offset() == static_cast<std::int64_t>(appended * 20));
}

TEST_CASE("segment: offset_for_timestamp finds the first batch reaching a time", "[log]") {
  TempDir dir;
  auto segment = Segment::create(default_file_system(), dir.path(), 0, small_config());
  // Batch k holds timestamps 1000 + 10k .. 1000 + 10k + 1.
  for (int k = 0; k < 40; ++k) REQUIRE(segment->try_append(make_batch(2, 1000 + 10 * k, "t")) == SegmentAppend::ok);
  CHECK(segment->offset_for_timestamp(0) == 0);
  CHECK(segment->offset_for_timestamp(1001) == 0);
  CHECK(segment->offset_for_timestamp(1002) == 2);
  CHECK(segment->offset_for_timestamp(1250) == 50);
  CHECK(segment->offset_for_timestamp(1391) == 78);
  CHECK_FALSE(segment->offset_for_timestamp(1392).has_value());
  CHECK(segment->max_timestamp() == 1391);
}

TEST_CASE("segment: reopening finds the same batches, offsets and write position", "[log]") {
  TempDir dir;
  std::size_t committed = 0;
  {
    auto segment = Segment::create(default_file_system(), dir.path(), 7, small_config());
    for (int k = 0; k < 30; ++k) REQUIRE(segment->try_append(make_batch(1, k, "x" + std::to_string(k))) == SegmentAppend::ok);
    committed = segment->committed_bytes();
  }
  auto segment = Segment::open(default_file_system(), dir.path(), 7, small_config());
  const SegmentScan scan = segment->recover(true);
  CHECK_FALSE(scan.damaged);
  CHECK_FALSE(scan.indexes_rebuilt);
  CHECK(scan.next_offset == 37);
  CHECK(scan.end_position == committed);
  CHECK(segment->committed_bytes() == committed);
  CHECK(records_of(segment->read_from(20, 1)) ==
        std::vector<std::pair<std::int64_t, std::string>>{{20, "x13/0"}});
  REQUIRE(segment->try_append(make_batch(1, 99, "after")) == SegmentAppend::ok);
  CHECK(records_of(segment->read_from(37, 1)) ==
        std::vector<std::pair<std::int64_t, std::string>>{{37, "after/0"}});
}

TEST_CASE("segment: a reader racing the writer sees only whole, ordered batches", "[log]") {
  TempDir dir;
  auto segment = Segment::create(default_file_system(), dir.path(), 0, SegmentConfig{1 << 16, 512});
  std::vector<Bytes> batches;
  for (int k = 0; k < 200; ++k) batches.push_back(make_batch(1, k, "v" + std::to_string(k)));
  std::atomic<bool> done{false};
  std::int64_t next = 0;
  bool in_order = true;
  // Catch's assertions are not thread-safe: the reader records, the test checks.
  std::thread reader([&] {
    while (next < 200 && in_order) {
      const bool finished = done.load(std::memory_order_acquire);
      std::span<const std::byte> bytes = segment->read_from(next, 1 << 20);
      if (bytes.empty() && finished) break;
      while (!bytes.empty()) {
        const rill::codec::BatchView batch = next_batch(bytes);
        rill::codec::RecordReader records(batch);
        rill::codec::DecodedRecord r;
        while (records.next(r) == rill::codec::DecodeStatus::ok) {
          in_order = in_order && r.offset == next && *r.value == "v" + std::to_string(next) + "/0";
          ++next;
        }
      }
    }
  });
  for (const Bytes& b : batches) REQUIRE(segment->try_append(b) == SegmentAppend::ok);
  done.store(true, std::memory_order_release);
  reader.join();
  CHECK(in_order);
  CHECK(next == 200);
}
