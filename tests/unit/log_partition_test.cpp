// SegmentLog: appends and reads across segments, reopening, retention with
// a reader holding a span, I/O errors through FaultInjectingFileSystem, and
// the refusal to write after a failed sync.
#include <unistd.h>

#include <algorithm>
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
#include "support/fault_injecting_file_system.hpp"
#include "log/segment_log.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;
using rill::FsyncPolicy;
using rill::Error;
using rill::ErrorCode;
using Bytes = std::vector<std::byte>;
using Records = std::vector<std::pair<std::int64_t, std::string>>;

// A fresh directory per test, removed afterwards.
struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-partition", false) {}
};

using rill::test::make_batch;

using rill::test::records_of;

// Every record from `from` to the end, read in small pieces.
Records read_all(const SegmentLog& log, std::int64_t from) {
  Records out;
  for (std::int64_t next = from; next < log.end_offset();) {
    const ReadResult r = log.read(next, 300);
    REQUIRE(r.status == ReadStatus::ok);
    for (const auto& rec : records_of(r.bytes)) {
      if (rec.first >= next) out.push_back(rec);
    }
    next = out.back().first + 1;
  }
  return out;
}

SegmentLogOptions small_options() {
  SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = 256;
  return o;
}

// Appends `count` batches of 3 records tagged "b<k>" from `first_tag`;
// returns the expected records.
Records fill(SegmentLog& log, int count, int first_tag = 0, std::int64_t ts = 1000) {
  Records expected;
  for (int k = first_tag; k < first_tag + count; ++k) {
    const std::string tag = "b" + std::to_string(k);
    const Appended r = log.append(make_batch(3, ts + k, tag), 3);
    for (int i = 0; i < 3; ++i) expected.emplace_back(r.base_offset + i, tag + "/" + std::to_string(i));
  }
  return expected;
}

}  // namespace

TEST_CASE("partition log: batches round-trip across several segments", "[log]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  CHECK(log->start_offset() == 0);
  CHECK(log->end_offset() == 0);
  CHECK(log->read(0, 100).status == ReadStatus::at_end);
  const Records expected = fill(*log, 120);
  CHECK(log->end_offset() == 360);
  const auto bases = log->segment_base_offsets();
  REQUIRE(bases.size() >= 3);
  CHECK(bases.front() == 0);
  for (std::size_t i = 0; i < bases.size(); ++i) {
    const std::string stem = dir.path() + "/" + segment_stem(bases[i]);
    CHECK(std::filesystem::exists(stem + ".log"));
    CHECK(std::filesystem::exists(stem + ".index"));
    CHECK(std::filesystem::exists(stem + ".timeindex"));
  }
  CHECK(read_all(*log, 0) == expected);
  // A read never crosses a segment: the one at a segment's base starts there.
  const ReadResult r = log->read(bases[1], 1 << 20);
  REQUIRE(r.status == ReadStatus::ok);
  CHECK(rill::codec::read_base_offset(r.bytes) == bases[1]);
  CHECK(records_of(r.bytes).back().first == bases[2] - 1);
  CHECK(log->read(360, 100).status == ReadStatus::at_end);
}

TEST_CASE("partition log: reopening preserves offsets, contents and the next offset", "[log]") {
  TempDir dir;
  Records expected;
  std::vector<std::int64_t> bases;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    expected = fill(*log, 100);
    bases = log->segment_base_offsets();
  }
  std::vector<std::string> lines;
  auto log = SegmentLog::open(dir.path(), small_options(), default_file_system(),
                                [&](const std::string& line) { lines.push_back(line); });
  CHECK(lines.empty());
  CHECK(log->segment_base_offsets() == bases);
  CHECK(log->end_offset() == 300);
  CHECK(read_all(*log, 0) == expected);
  const Appended r = log->append(make_batch(1, 5, "later"), 1);
  CHECK(r.base_offset == 300);
  CHECK(records_of(log->read(300, 1).bytes) == Records{{300, "later/0"}});
}

TEST_CASE("partition log: a new log starts at the initial offset", "[log]") {
  TempDir dir;
  SegmentLogOptions options = small_options();
  options.initial_offset = 1000;
  auto log = SegmentLog::open(dir.path(), options);
  CHECK(log->append(make_batch(2, 0, "x"), 2).base_offset == 1000);
  CHECK(dir.names() == std::vector<std::string>{"00000000000000001000.index", "00000000000000001000.log",
                                                "00000000000000001000.timeindex", "recovery-point"});
}

TEST_CASE("partition log: bytes that are not one batch, or a wrong count, are refused", "[log]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  Bytes batch = make_batch(2, 0, "x");
  CHECK_THROWS_MATCHES(log->append(batch, 3), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == ErrorCode::invalid_argument; }));
  Bytes longer = batch;
  longer.push_back(std::byte{0});
  CHECK_THROWS_AS(log->append(longer, 2), Error);
  CHECK_THROWS_AS(log->append(std::span<const std::byte>(batch).first(40), 2), Error);
  CHECK(log->end_offset() == 0);
}

TEST_CASE("partition log: retention deletes whole old segments while a reader keeps its span", "[log]") {
  TempDir dir;
  SegmentLogOptions options = small_options();
  options.retention_bytes = 8192;
  auto log = SegmentLog::open(dir.path(), options);
  const Records expected = fill(*log, 250);
  const auto bases = log->segment_base_offsets();
  REQUIRE(bases.size() >= 5);
  // A reader holds a span into the oldest segment.
  const ReadResult held = log->read(0, 1 << 20);
  REQUIRE(held.status == ReadStatus::ok);
  const Records held_records = records_of(held.bytes);

  const std::size_t deleted = log->enforce_retention(0);
  CHECK(deleted >= 2);
  const auto left = log->segment_base_offsets();
  CHECK(left.size() == bases.size() - deleted);
  CHECK(left.front() == bases[deleted]);
  CHECK(log->start_offset() == bases[deleted]);
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/" + segment_stem(0) + ".log"));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/" + segment_stem(0) + ".index"));
  CHECK(log->read(0, 100).status == ReadStatus::below_start);
  // The unlinked segment's mapping is still there for the reader.
  CHECK(records_of(held.bytes) == held_records);
  CHECK(held_records.front() == expected.front());
  // What is left is the newest data, whole segments of it.
  CHECK(read_all(*log, log->start_offset()) ==
        Records(expected.begin() + log->start_offset(), expected.end()));
  CHECK(log->enforce_retention(0) == 0);
}

TEST_CASE("partition log: retention by age deletes segments whose newest record is too old", "[log]") {
  TempDir dir;
  SegmentLogOptions options = small_options();
  options.retention_age = std::chrono::milliseconds(1000);
  auto log = SegmentLog::open(dir.path(), options);
  (void)fill(*log, 60, 0, 10'000);  // timestamps around 10 s
  const std::size_t old_segments = log->segment_base_offsets().size();
  (void)fill(*log, 60, 60, 50'000);  // around 50 s
  CHECK(log->enforce_retention(10'500) == 0);
  const std::size_t deleted = log->enforce_retention(50'000);
  CHECK(deleted >= old_segments - 1);
  CHECK(log->start_offset() > 0);
  // Nothing newer than 49 s was deleted.
  CHECK(log->start_offset() <= 180);
  CHECK(log->offset_for_timestamp(50'000) == 180);
  CHECK(log->offset_for_timestamp(50'100) == 294);  // batch 98 reaches 50'100
  CHECK_FALSE(log->offset_for_timestamp(60'000).has_value());
}

TEST_CASE("partition log: ENOSPC while rolling reaches the caller and the log carries on", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  auto log = SegmentLog::open(dir.path(), small_options(), fs);
  fs.fail_call(FaultInjectingFileSystem::Op::allocate, 1, FaultInjectingFileSystem::Fault::enospc);
  Records expected;
  bool failed_once = false;
  for (int k = 0; k < 40; ++k) {
    const Bytes batch = make_batch(3, k, "b" + std::to_string(k));
    try {
      const Appended r = log->append(batch, 3);
      for (int i = 0; i < 3; ++i) expected.emplace_back(r.base_offset + i, "b" + std::to_string(k) + "/" + std::to_string(i));
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::io);
      CHECK(std::string(e.what()).find(std::strerror(ENOSPC)) != std::string::npos);
      failed_once = true;
    }
  }
  CHECK(failed_once);
  CHECK_FALSE(log->failed());
  CHECK(read_all(*log, 0) == expected);
  CHECK(expected.back().first == log->end_offset() - 1);
}

TEST_CASE("partition log: a failed sync is reported and the log refuses writes until reopened", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  SegmentLogOptions options = small_options();
  options.fsync_policy = FsyncPolicy::every_batch;
  {
    auto log = SegmentLog::open(dir.path(), options, fs);
    const Appended first = log->append(make_batch(2, 0, "a"), 2);
    CHECK(first.durable_end_offset == 2);
    fs.fail_call(FaultInjectingFileSystem::Op::sync, 1, FaultInjectingFileSystem::Fault::eio);
    CHECK_THROWS_WITH(log->append(make_batch(2, 0, "b"), 2), Catch::Contains(std::strerror(EIO)));
    CHECK(log->failed());
    CHECK(log->durable_end_offset() == 2);
    CHECK_THROWS_WITH(log->append(make_batch(2, 0, "c"), 2), Catch::Contains("refuses writes"));
    CHECK_THROWS_WITH(log->sync(), Catch::Contains("refuses writes"));
    CHECK(log->end_offset() == 4);
  }
  auto log = SegmentLog::open(dir.path(), options, fs);
  CHECK_FALSE(log->failed());
  CHECK(log->append(make_batch(1, 0, "d"), 1).base_offset == 4);
}

TEST_CASE("partition log: a damaged header in an old segment reads as corrupt, not as the end", "[log]") {
  TempDir dir;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    (void)fill(*log, 200);
  }
  // batch_length of the very first batch (bytes 16..19), far past its segment.
  const std::string first = dir.path() + "/" + segment_stem(0) + ".log";
  Bytes bytes = default_file_system().read_file(first);
  bytes[19] = std::byte{0x40};
  File f = default_file_system().open(first, OpenMode::existing);
  default_file_system().write(f, 0, bytes);
  default_file_system().close(f);

  auto log = SegmentLog::open(dir.path(), small_options());
  CHECK(log->read(0, 100).status == ReadStatus::corrupt);
  CHECK(log->read(log->segment_base_offsets()[1], 100).status == ReadStatus::ok);
}

TEST_CASE("partition log: under the interval policy an explicit sync makes appends durable", "[log]") {
  TempDir dir;
  SegmentLogOptions options = small_options();
  options.fsync_policy = FsyncPolicy::interval;
  options.fsync_interval = std::chrono::hours(1);
  auto log = SegmentLog::open(dir.path(), options);
  const Records expected = fill(*log, 50);  // rolls sync the segments they close
  CHECK(log->durable_end_offset() >= log->segment_base_offsets().back());
  CHECK(log->durable_end_offset() < log->end_offset());
  log->sync();
  CHECK(log->durable_end_offset() == log->end_offset());
  CHECK(read_all(*log, 0) == expected);
}

TEST_CASE("partition log: a reader follows the writer across segment rolls", "[log]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  constexpr int kBatches = 300;
  std::int64_t next = 0;
  bool in_order = true;
  // Catch's assertions are not thread-safe: the reader records, the test checks.
  std::thread reader([&] {
    while (next < 3 * kBatches && in_order) {
      const ReadResult r = log->read(next, 512);
      if (r.status != ReadStatus::ok) {
        in_order = r.status == ReadStatus::at_end;
        continue;
      }
      std::span<const std::byte> bytes = r.bytes;
      while (!bytes.empty()) {
        rill::codec::RecordReader records(next_batch(bytes));
        rill::codec::DecodedRecord rec;
        while (records.next(rec) == rill::codec::DecodeStatus::ok) {
          const std::string want = "b" + std::to_string(next / 3) + "/" + std::to_string(next % 3);
          in_order = in_order && rec.offset == next && *rec.value == want;
          ++next;
        }
      }
    }
  });
  (void)fill(*log, kBatches);
  reader.join();
  CHECK(in_order);
  CHECK(next == 3 * kBatches);
  CHECK(log->segment_base_offsets().size() > 5);
}
