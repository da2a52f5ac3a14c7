// Compaction at its edges: a failure while writing the compacted copy
// removes the copy's files and leaves the log as it was; damage in a closed
// segment found by the pass (a broken length, a checksum mismatch) refuses
// the pass without changing anything; control batches are kept byte for byte;
// a rename that fails while installing a copy reopens with each segment old or compacted.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "codec/batch_builder.hpp"
#include "codec/batch_format.hpp"
#include "codec/batch_reader.hpp"
#include "support/fault_injecting_file_system.hpp"
#include "log/segment_log.hpp"
#include "log/segment_format.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;
using rill::Error;
using rill::ErrorCode;
using Bytes = std::vector<std::byte>;
using Fault = FaultInjectingFileSystem::Fault;
using Op = FaultInjectingFileSystem::Op;

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-cleaner-edges", false) {}
};

SegmentLogOptions small_options() {
  SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = 256;
  return o;
}

// One batch of keyed records "key<k>" = "<tag>".
Bytes keyed_batch(const std::vector<int>& keys, const std::string& tag, std::uint16_t extra_attributes = 0) {
  rill::codec::BatchBuilder builder(1 << 14);
  builder.reset();
  std::vector<std::string> names;
  for (int k : keys) names.push_back("key" + std::to_string(k));
  for (const std::string& name : names) {
    rill::Record r;
    r.key = name;
    r.value = tag;
    REQUIRE(builder.try_append(r, 1000));
  }
  const auto finished = builder.finish();
  Bytes batch(finished.begin(), finished.end());
  if (extra_attributes != 0) {
    rill::codec::store_field<std::uint16_t>(batch.data(), offsetof(rill::codec::BatchHeader, attributes),
                                            extra_attributes);
    rill::codec::store_field<std::uint64_t>(batch.data(), offsetof(rill::codec::BatchHeader, checksum),
                                            rill::codec::compute_checksum(batch));
  }
  return batch;
}

// (key, value, offset) of every record from the start, and the raw batches.
struct Content {
  std::vector<std::string> records;
  std::vector<Bytes> control_batches;
  bool operator==(const Content&) const = default;
};

Content content_of(const SegmentLog& log) {
  Content out;
  std::int64_t next = log.start_offset();
  while (next < log.end_offset()) {
    const ReadResult r = log.read(next, 1 << 20);
    REQUIRE(r.status == ReadStatus::ok);
    std::span<const std::byte> bytes = r.bytes;
    while (!bytes.empty()) {
      const rill::codec::BatchView batch = next_batch(bytes);
      REQUIRE(batch.valid());
      if ((batch.attributes() & rill::codec::kAttrControl) != 0) {
        out.control_batches.emplace_back(batch.bytes().begin(), batch.bytes().end());
        // Control batches keep their base offset; compare without it.
        rill::codec::set_base_offset(out.control_batches.back(), 0);
      }
      rill::codec::RecordReader reader(batch);
      rill::codec::DecodedRecord d;
      while (reader.next(d) == rill::codec::DecodeStatus::ok) {
        if (d.offset < next) continue;
        out.records.push_back(std::string(*d.key) + "=" + std::string(*d.value) + "@" + std::to_string(d.offset));
      }
      next = std::max(next, batch.next_offset());
    }
  }
  return out;
}

// True when `part` appears in `whole` in the same order.
bool is_subsequence(const std::vector<std::string>& part, const std::vector<std::string>& whole) {
  std::size_t i = 0;
  for (const std::string& s : whole) {
    if (i < part.size() && part[i] == s) ++i;
  }
  return i == part.size();
}

// Fills two closed segments and an active one with keys 0..3 rewritten.
void fill(SegmentLog& log) {
  for (int round = 0; round < 400 && log.segment_base_offsets().size() < 3; ++round) {
    (void)log.append(keyed_batch({0, 1, 2, 3}, "r" + std::to_string(round)), 4);
  }
  REQUIRE(log.segment_base_offsets().size() >= 3);
}

// Overwrites bytes of a segment's log file (the mapping sees them).
void poke(const std::string& path, std::size_t at, const Bytes& bytes) {
  FileSystem& fs = default_file_system();
  File f = fs.open(path, OpenMode::existing);
  fs.write(f, at, bytes);
  fs.close(f);
}

}  // namespace

TEST_CASE("log cleaner edges: a copy that cannot be written is removed and the log is unchanged",
          "[log][compaction][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  auto log = SegmentLog::open(dir.path(), small_options(), fs);
  // A key written once: the first segment's copy is not empty, so it is synced.
  (void)log->append(keyed_batch({100}, "once"), 1);
  fill(*log);
  const Content before = content_of(*log);
  std::mutex writer;

  const Op op = GENERATE(Op::sync, Op::open, Op::allocate, Op::map);
  const bool cleanup_fails = GENERATE(false, true);
  CAPTURE(static_cast<int>(op), cleanup_fails);
  fs.fail_call(op, 1, Fault::enospc);
  if (cleanup_fails) fs.fail_call(Op::unlink, 1, Fault::eio);
  try {
    (void)log->compact(CompactionOptions{}, writer);
    FAIL("the pass succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::io);
  }
  fs.clear_faults();
  CHECK(content_of(*log) == before);
  std::vector<std::string> leftovers;
  for (const std::string& name : dir.names()) {
    if (name.ends_with(kCleanedSuffix)) leftovers.push_back(name);
  }
  if (cleanup_fails) {
    // The clean-up is best effort: what it could not delete, the next open does.
    CHECK(leftovers.size() <= 1);
    log.reset();
    std::vector<std::string> lines;
    log = SegmentLog::open(dir.path(), small_options(), fs, [&](const std::string& line) { lines.push_back(line); });
    CHECK(lines.size() == leftovers.size());
    for (const std::string& line : lines) CHECK_THAT(line, Catch::Contains("left by an interrupted compaction"));
    CHECK(content_of(*log) == before);
  } else {
    CHECK(leftovers.empty());
  }
  for (const std::string& name : dir.names()) CHECK_FALSE(name.ends_with(kCleanedSuffix));
  // The next pass succeeds and keeps the newest record of each key.
  const CompactionResult result = log->compact(CompactionOptions{}, writer);
  CHECK(result.segments_rewritten + result.segments_removed >= 1);
  const Content after = content_of(*log);
  CHECK(after.records.size() < before.records.size());
  CHECK(after.records.front() == "key100=once@0");
  for (int k = 0; k < 4; ++k) {
    const std::string newest = "key" + std::to_string(k) + "=";
    auto last_before = std::find_if(before.records.rbegin(), before.records.rend(),
                                    [&](const std::string& s) { return s.starts_with(newest); });
    REQUIRE(last_before != before.records.rend());
    CHECK(std::count(after.records.begin(), after.records.end(), *last_before) == 1);
  }
}

TEST_CASE("log cleaner edges: damage in a closed segment refuses the pass and changes nothing",
          "[log][compaction]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  fill(*log);
  const std::int64_t second = log->segment_base_offsets()[1];
  const std::string path = dir.file(segment_stem(second) + std::string(kLogSuffix));
  const std::vector<std::string> names_before = dir.names();
  const Bytes file_before = default_file_system().read_file(path);
  std::uint32_t first_length = 0;
  std::memcpy(&first_length, file_before.data() + offsetof(rill::codec::BatchHeader, batch_length), 4);
  const std::size_t second_batch = rill::codec::padded_batch_size(first_length);

  std::string expected;
  SECTION("a batch length too small to be a batch") {
    poke(path, second_batch + offsetof(rill::codec::BatchHeader, batch_length), Bytes{std::byte{9}, {}, {}, {}});
    expected = "is damaged (batch length too small)";
  }
  SECTION("a flipped record byte: the checksum does not match") {
    poke(path, second_batch + rill::codec::kBatchHeaderSize + 3,
         Bytes{file_before[second_batch + rill::codec::kBatchHeaderSize + 3] ^ std::byte{0x20}});
    expected = "checksum mismatch";
  }
  std::mutex writer;
  try {
    (void)log->compact(CompactionOptions{}, writer);
    FAIL("damage was compacted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::corrupt);
    CHECK_THAT(e.what(), Catch::Contains(expected) && Catch::Contains(path));
  }
  CHECK(dir.names() == names_before);
  const Bytes file_after = default_file_system().read_file(path);
  CHECK(file_after.size() == file_before.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < file_after.size(); ++i) differing += file_after[i] != file_before[i];
  CHECK(differing == 1);  // only the poked byte: the pass wrote nothing
}

TEST_CASE("log cleaner edges: control batches are kept byte for byte", "[log][compaction]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  const Bytes control = keyed_batch({0}, "marker", rill::codec::kAttrControl);
  (void)log->append(keyed_batch({0, 1}, "old"), 2);
  (void)log->append(control, 1);
  fill(*log);
  const Content before = content_of(*log);
  REQUIRE(before.control_batches.size() == 1);
  std::mutex writer;
  const CompactionResult result = log->compact(CompactionOptions{}, writer);
  CHECK(result.records_removed > 0);
  const Content after = content_of(*log);
  // The superseded "old" records went; the control batch (whose key is
  // superseded as well) stays as it was, at its offset.
  CHECK(after.control_batches == before.control_batches);
  CHECK(std::count(after.records.begin(), after.records.end(), "key0=marker@2") == 1);
  CHECK(std::count(after.records.begin(), after.records.end(), "key0=old@0") == 0);
  CHECK(std::count(before.records.begin(), before.records.end(), "key0=old@0") == 1);
  // A second pass has nothing to drop in the rewritten segment.
  const CompactionResult again = log->compact(CompactionOptions{}, writer);
  CHECK(again.segments_rewritten + again.segments_removed == 0);
  CHECK(content_of(*log) == after);
}

TEST_CASE("log cleaner edges: a failure while installing the copy reopens with each segment old or compacted",
          "[log][compaction][io]") {
  // The compacted result, from a pass that nothing disturbs.
  Content compacted;
  {
    TempDir reference;
    auto log = SegmentLog::open(reference.path(), small_options());
    fill(*log);
    std::mutex writer;
    (void)log->compact(CompactionOptions{}, writer);
    compacted = content_of(*log);
  }
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  auto log = SegmentLog::open(dir.path(), small_options(), fs);
  fill(*log);
  const Content before = content_of(*log);
  REQUIRE(compacted.records.size() < before.records.size());
  // The pass renames three files per segment, then syncs the directory.
  const auto [op, n] = GENERATE(std::pair{Op::rename, 1}, std::pair{Op::rename, 2}, std::pair{Op::rename, 3},
                                std::pair{Op::sync_directory, 2}, std::pair{Op::exists, 1});
  CAPTURE(static_cast<int>(op), n);
  fs.fail_call(op, n, Fault::eio);
  std::mutex writer;
  CHECK(rill::test::error_of([&] { (void)log->compact(CompactionOptions{}, writer); }) == ErrorCode::io);
  CHECK(fs.faults_fired() == 1);
  // The open log still reads what it read: it keeps its old mappings.
  CHECK(content_of(*log) == before);
  log.reset();
  if (op == Op::rename && n > 1) {
    // Leftovers the open cannot delete stop it; the next open deletes them.
    fs.fail_call(Op::unlink, 1, Fault::eio);
    CHECK(rill::test::error_of([&] { (void)SegmentLog::open(dir.path(), small_options(), fs); }) ==
          ErrorCode::io);
    CHECK(fs.faults_fired() == 2);
  }
  std::vector<std::string> lines;
  log = SegmentLog::open(dir.path(), small_options(), fs, [&](const std::string& line) { lines.push_back(line); });
  const Content reopened = content_of(*log);
  // Each segment is old or compacted: every record compaction keeps is
  // there, and nothing but records of before, in their order.
  CHECK(is_subsequence(compacted.records, reopened.records));
  CHECK(is_subsequence(reopened.records, before.records));
  CHECK(reopened.records.size() <= before.records.size());
  for (const std::string& name : dir.names()) CHECK_FALSE(name.ends_with(kCleanedSuffix));
  if (op == Op::rename && n > 1) {
    // The copy's index files were left beside the installed log: the open deleted them.
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
            return line.find("left by an interrupted compaction") != std::string::npos;
          }) == 4 - n);
  }
  // Whatever was left, a new pass ends with the compacted records.
  (void)log->compact(CompactionOptions{}, writer);
  CHECK(content_of(*log) == compacted);
}
