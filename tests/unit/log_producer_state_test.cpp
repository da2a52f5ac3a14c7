// The idempotent producers' state in a durable partition: duplicates
// written once, sequences out of order refused, the state kept across
// reopen, torn tails, lost or damaged snapshots and retention.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "codec/batch_builder.hpp"
#include "log/segment_log.hpp"
#include "log/producer_snapshot.hpp"
#include "log/producer_state.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;
using rill::FsyncPolicy;
using rill::ErrorCode;
using Bytes = std::vector<std::byte>;
using rill::test::error_of;

constexpr std::int64_t kProducer = 42;
constexpr std::int64_t kOther = 7;

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-producer", false) {}
};

// A batch of `records` records of producer `id` starting at `sequence`.
Bytes producer_batch(std::int64_t id, std::int32_t sequence, int records = 3, std::int16_t epoch = 0) {
  rill::codec::BatchBuilder builder(1 << 12);
  // About 100 bytes a record: a 4 KiB segment holds about 10 batches.
  const std::string value = "p" + std::to_string(id) + "s" + std::to_string(sequence) + std::string(90, '.');
  for (int i = 0; i < records; ++i) {
    rill::Record r;
    r.value = value;
    REQUIRE(builder.try_append(r, 1000 + std::int64_t{sequence}));
  }
  const auto bytes = builder.finish({id, epoch, sequence});
  return Bytes(bytes.begin(), bytes.end());
}

SegmentLogOptions small_options() {
  SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = 256;
  return o;
}

// Opens the log with a hook that keeps the lines it writes.
struct Opened {
  std::vector<std::string> lines;
  std::unique_ptr<SegmentLog> log;
  Opened(const std::string& dir, const SegmentLogOptions& options = small_options()) {
    log = SegmentLog::open(dir, options, default_file_system(),
                             [this](const std::string& line) { lines.push_back(line); });
  }
};

// Appends `batches` batches of 3 records for `id` from sequence `first`;
// returns the base offsets.
std::vector<std::int64_t> send(SegmentLog& log, std::int64_t id, int batches, std::int32_t first = 0) {
  std::vector<std::int64_t> bases;
  for (int k = 0; k < batches; ++k) {
    const Appended r = log.append(producer_batch(id, first + 3 * k), 3);
    REQUIRE_FALSE(r.duplicate);
    bases.push_back(r.base_offset);
  }
  return bases;
}

std::vector<std::int64_t> snapshots(const std::string& dir) {
  return list_snapshots(default_file_system(), dir);
}

void flip_byte(const std::string& path, std::size_t position) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(position));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(position));
  f.put(static_cast<char>(c ^ 0x5a));
}

}  // namespace

TEST_CASE("producer state: a batch appended twice is written once, at its first offsets", "[log][idempotence]") {
  TempDir dir;
  Opened o(dir.path());
  const Bytes first = producer_batch(kProducer, 0);
  CHECK(o.log->append(first, 3).base_offset == 0);
  CHECK(o.log->append(rill::test::make_batch(2, 5, "plain"), 2).base_offset == 3);
  const Appended again = o.log->append(first, 3);
  CHECK(again.duplicate);
  CHECK(again.base_offset == 0);
  CHECK(o.log->end_offset() == 5);
  CHECK(o.log->next_sequence(kProducer) == 3);
  // The records are there once, in order.
  CHECK(rill::test::records_of(o.log->read(0, 1 << 16).bytes).size() == 5);
}

TEST_CASE("producer state: any of the five newest batches is recognised, an older one is refused", "[log][idempotence]") {
  TempDir dir;
  Opened o(dir.path(), SegmentLogOptions{});
  const std::vector<std::int64_t> bases = send(*o.log, kProducer, 7);
  for (int k = 2; k < 7; ++k) {
    const Appended r = o.log->append(producer_batch(kProducer, 3 * k), 3);
    CHECK(r.duplicate);
    CHECK(r.base_offset == bases[static_cast<std::size_t>(k)]);
  }
  CHECK(error_of([&] { (void)o.log->append(producer_batch(kProducer, 3), 3); }) ==
        ErrorCode::out_of_order_sequence);
  CHECK(o.log->end_offset() == 21);
}

TEST_CASE("producer state: a gap in the sequence is refused and writes nothing", "[log][idempotence]") {
  TempDir dir;
  Opened o(dir.path());
  (void)send(*o.log, kProducer, 1);
  CHECK(error_of([&] { (void)o.log->append(producer_batch(kProducer, 5), 3); }) ==
        ErrorCode::out_of_order_sequence);
  // A batch overlapping the last one without matching it is refused too.
  CHECK(error_of([&] { (void)o.log->append(producer_batch(kProducer, 1, 4), 4); }) ==
        ErrorCode::out_of_order_sequence);
  CHECK(o.log->end_offset() == 3);
  CHECK(o.log->next_sequence(kProducer) == 3);
  CHECK(o.log->append(producer_batch(kProducer, 3), 3).base_offset == 3);
}

TEST_CASE("producer state: producers are independent, an unknown one may start anywhere", "[log][idempotence]") {
  TempDir dir;
  Opened o(dir.path());
  CHECK(o.log->next_sequence(kOther) == 0);
  (void)send(*o.log, kProducer, 2);
  CHECK(o.log->append(producer_batch(kOther, 100), 3).base_offset == 6);
  CHECK(o.log->next_sequence(kProducer) == 6);
  CHECK(o.log->next_sequence(kOther) == 103);
  // Plain batches are never checked: the same bytes twice are written twice.
  const Bytes plain = rill::test::make_batch(1, 0, "x");
  CHECK(o.log->append(plain, 1).base_offset == 9);
  CHECK(o.log->append(plain, 1).base_offset == 10);
}

TEST_CASE("producer state: a newer epoch restarts at 0 and an older one is refused", "[log][idempotence]") {
  TempDir dir;
  Opened o(dir.path());
  (void)send(*o.log, kProducer, 2);
  CHECK(error_of([&] { (void)o.log->append(producer_batch(kProducer, 6, 3, 1), 3); }) ==
        ErrorCode::out_of_order_sequence);
  CHECK(o.log->append(producer_batch(kProducer, 0, 3, 1), 3).base_offset == 6);
  CHECK(o.log->next_sequence(kProducer) == 3);
  CHECK(error_of([&] { (void)o.log->append(producer_batch(kProducer, 3, 3, 0), 3); }) ==
        ErrorCode::out_of_order_sequence);
  CHECK(error_of([&] { (void)o.log->append(producer_batch(kProducer, -5), 3); }) ==
        ErrorCode::invalid_argument);
}

TEST_CASE("producer state: sequences wrap after INT32_MAX to 0", "[log][idempotence]") {
  constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
  CHECK(add_sequence(kMax, 1) == 0);
  CHECK(add_sequence(kMax - 1, 3) == 1);
  TempDir dir;
  Opened o(dir.path());
  CHECK(o.log->append(producer_batch(kProducer, kMax - 1), 3).base_offset == 0);
  CHECK(o.log->next_sequence(kProducer) == 1);  // kMax - 1, kMax, 0 written
  CHECK(o.log->append(producer_batch(kProducer, kMax - 1), 3).duplicate);
  CHECK(o.log->append(producer_batch(kProducer, 1), 3).base_offset == 3);
}

TEST_CASE("producer state: the table survives close and reopen, across rolls", "[log][idempotence]") {
  TempDir dir;
  std::vector<std::int64_t> bases;
  {
    Opened o(dir.path());
    bases = send(*o.log, kProducer, 60);
    (void)send(*o.log, kOther, 4, 50);
    REQUIRE(o.log->segment_base_offsets().size() > 2);
    REQUIRE_FALSE(snapshots(dir.path()).empty());
  }
  Opened o(dir.path());
  CHECK(o.lines.empty());
  CHECK(o.log->next_sequence(kProducer) == 180);
  CHECK(o.log->next_sequence(kOther) == 62);
  const Appended r = o.log->append(producer_batch(kProducer, 177), 3);
  CHECK(r.duplicate);
  CHECK(r.base_offset == bases.back());
  CHECK(o.log->append(producer_batch(kProducer, 180), 3).base_offset == 192);
}

TEST_CASE("producer state: records a torn tail cut are not counted", "[log][idempotence]") {
  TempDir dir;
  std::string active;
  std::size_t last_position = 0;
  {
    Opened o(dir.path());
    (void)send(*o.log, kProducer, 5);
    const ReadResult before = o.log->read(o.log->end_offset() - 1, 1);
    last_position = before.segment->committed_bytes();
    active = before.segment->log_path();
    (void)send(*o.log, kProducer, 1, 15);
    REQUIRE(o.log->read(15, 1).segment->log_path() == active);  // the same segment
  }
  flip_byte(active, last_position + 70);  // inside the last batch's records
  Opened o(dir.path());
  REQUIRE(o.log->end_offset() == 15);
  CHECK(o.lines.size() == 1);  // the torn tail
  CHECK(o.log->next_sequence(kProducer) == 15);
  // The lost batch is no duplicate: resent, it is written again.
  const Appended r = o.log->append(producer_batch(kProducer, 15), 3);
  CHECK_FALSE(r.duplicate);
  CHECK(r.base_offset == 15);
}

TEST_CASE("producer state: a snapshot past the recovered end is dropped and the log replayed", "[log][idempotence]") {
  TempDir dir;
  std::int64_t second_base = 0;
  std::size_t last_position = 0;  // of the last batch in the first segment
  std::string first_log;
  {
    Opened o(dir.path());
    while (o.log->segment_base_offsets().size() < 2) {
      const std::size_t position =
          o.log->end_offset() == 0 ? 0 : o.log->read(o.log->end_offset() - 1, 1).segment->committed_bytes();
      (void)send(*o.log, kProducer, 1, static_cast<std::int32_t>(o.log->end_offset()));
      if (o.log->segment_base_offsets().size() == 1) last_position = position;
    }
    second_base = o.log->segment_base_offsets()[1];
    first_log = o.log->read(0, 1).segment->log_path();
  }
  REQUIRE(snapshots(dir.path()) == std::vector<std::int64_t>{second_base});
  // The roll's new segment is lost, and the last batch before it is torn
  // (a power loss under FsyncPolicy::none may do that), but the snapshot
  // written at the roll survived.
  const std::string stem = dir.file(segment_stem(second_base));
  for (const char* suffix : {".log", ".index", ".timeindex"}) std::filesystem::remove(stem + suffix);
  flip_byte(first_log, last_position + 70);
  Opened o(dir.path());
  REQUIRE(o.log->end_offset() == second_base - 3);
  CHECK(snapshots(dir.path()).empty());
  CHECK(o.lines.size() == 2);  // the torn tail, the dropped snapshot
  CHECK(o.log->next_sequence(kProducer) == second_base - 3);
  CHECK_FALSE(o.log->append(producer_batch(kProducer, static_cast<std::int32_t>(second_base - 3)), 3).duplicate);
}

TEST_CASE("producer state: a missing or damaged snapshot is rebuilt with the same answers", "[log][idempotence]") {
  TempDir dir;
  {
    Opened o(dir.path());
    (void)send(*o.log, kProducer, 40);
    (void)send(*o.log, kOther, 10, 9);
  }
  const std::vector<std::int64_t> taken = snapshots(dir.path());
  REQUIRE(taken.size() >= 2);
  const std::string newest = snapshot_path(dir.path(), taken.back());
  std::string reason;  // expected in the hook's line; empty: no line
  SECTION("every snapshot removed") {
    for (std::int64_t s : taken) std::filesystem::remove(snapshot_path(dir.path(), s));
  }
  SECTION("the newest one garbled") {
    flip_byte(newest, 30);
    reason = "checksum mismatch";
  }
  SECTION("the newest one cut short") {
    std::filesystem::resize_file(newest, 20);
    reason = "shorter than a header";
  }
  SECTION("a leftover temporary file") {
    std::ofstream(newest + ".tmp") << "half";
  }
  Opened o(dir.path());
  if (reason.empty()) {
    CHECK(o.lines.empty());
  } else {
    REQUIRE(o.lines.size() == 1);
    CHECK(o.lines[0].find(newest) == 0);
    CHECK(o.lines[0].find(reason) != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(newest + ".tmp"));
  CHECK(o.log->next_sequence(kProducer) == 120);
  CHECK(o.log->next_sequence(kOther) == 39);
  CHECK(o.log->append(producer_batch(kOther, 36), 3).duplicate);
  CHECK(error_of([&] { (void)o.log->append(producer_batch(kProducer, 121), 3); }) ==
        ErrorCode::out_of_order_sequence);
  for (std::int64_t s : snapshots(dir.path())) CHECK(s <= o.log->end_offset());
}

TEST_CASE("producer state: retention drops snapshots below the start and keeps the state", "[log][idempotence]") {
  TempDir dir;
  SegmentLogOptions options = small_options();
  options.retention_bytes = 3 * 4096;
  {
    Opened o(dir.path(), options);
    (void)send(*o.log, kOther, 2);  // only in segments retention deletes
    (void)send(*o.log, kProducer, 80, 0);
    REQUIRE(o.log->enforce_retention(0) > 0);
    const std::int64_t start = o.log->start_offset();
    REQUIRE(start > 6);
    const std::vector<std::int64_t> kept = snapshots(dir.path());
    REQUIRE_FALSE(kept.empty());
    CHECK(kept.front() == start);
  }
  Opened o(dir.path(), options);
  CHECK(o.log->next_sequence(kOther) == 6);  // carried by the snapshot
  CHECK(o.log->next_sequence(kProducer) == 240);
  const std::int64_t end = o.log->end_offset();
  CHECK(o.log->append(producer_batch(kOther, 6), 3).base_offset == end);
}

TEST_CASE("producer state: snapshot bytes round-trip and damage is named", "[log][idempotence]") {
  ProducerStateTable table;
  for (int k = 0; k < 7; ++k) table.record({kProducer, 2, 10 * k}, 10, 100 * k);
  table.record({kOther, 0, 5}, 1, 900);
  const Bytes bytes = table.encode(1000);
  REQUIRE(bytes.size() == kSnapshotHeaderSize + 2 * kSnapshotEntrySize + kSnapshotTrailerSize);
  std::string why;
  const auto decoded = ProducerStateTable::decode(bytes, 1000, why);
  REQUIRE(decoded);
  CHECK(decoded->encode(1000) == bytes);
  const ProducerEntry* e = decoded->find(kProducer);
  REQUIRE(e != nullptr);
  CHECK(e->epoch == 2);
  CHECK(e->recent_count == kRecentBatches);
  CHECK(e->recent[0].first_sequence == 20);
  CHECK(e->recent[4].base_offset == 600);
  CHECK(decoded->next_sequence(kOther) == 6);

  CHECK_FALSE(ProducerStateTable::decode(bytes, 999, why));
  CHECK(why == "offset differs from its name");
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    Bytes damaged = bytes;
    damaged[i] ^= std::byte{1};
    CHECK_FALSE(ProducerStateTable::decode(damaged, 1000, why));
  }
  CHECK_FALSE(ProducerStateTable::decode(std::span(bytes).first(30), 1000, why));
}
