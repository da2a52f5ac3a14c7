// A partition's derived files failing at their edges: a producer-state
// snapshot or a recovery point that cannot be written at a roll is reported
// and the log goes on; a snapshot that cannot be read at open is removed and
// the state rebuilt from the log; retention that cannot delete an old
// snapshot leaves it for a later pass. The producers' next sequences stay
// right throughout.
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "codec/batch_builder.hpp"
#include "support/fault_injecting_file_system.hpp"
#include "log/segment_log.hpp"
#include "log/producer_snapshot.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;
using rill::FsyncPolicy;
using Bytes = std::vector<std::byte>;
using Fault = FaultInjectingFileSystem::Fault;
using Op = FaultInjectingFileSystem::Op;

constexpr std::int64_t kProducer = 11;

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-partition-edges", false) {}
};

// Two records of about 200 bytes each from kProducer at `sequence`.
Bytes producer_batch(std::int32_t sequence) {
  rill::codec::BatchBuilder builder(1 << 12);
  const std::string value = "s" + std::to_string(sequence) + std::string(200, '.');
  for (int i = 0; i < 2; ++i) {
    rill::Record r;
    r.value = value;
    REQUIRE(builder.try_append(r, 1000 + std::int64_t{sequence}));
  }
  const auto bytes = builder.finish({kProducer, 0, sequence});
  return Bytes(bytes.begin(), bytes.end());
}

SegmentLogOptions small_options(FsyncPolicy policy = FsyncPolicy::none) {
  SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = 256;
  o.fsync_policy = policy;
  return o;
}

// A log on `fs` whose hook keeps its lines.
struct Opened {
  std::vector<std::string> lines;
  std::unique_ptr<SegmentLog> log;
  Opened(const std::string& dir, FileSystem& fs, const SegmentLogOptions& options = small_options()) {
    log = SegmentLog::open(dir, options, fs, [this](const std::string& line) { lines.push_back(line); });
  }
  [[nodiscard]] bool said(const std::string& text) const {
    for (const std::string& line : lines) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

// Appends batches from `next_sequence` until the log has rolled `rolls`
// more times; returns the next sequence.
std::int32_t append_until_rolled(SegmentLog& log, std::int32_t next_sequence, std::size_t rolls) {
  const std::size_t target = log.segment_base_offsets().size() + rolls;
  while (log.segment_base_offsets().size() < target) {
    const Appended r = log.append(producer_batch(next_sequence), 2);
    REQUIRE_FALSE(r.duplicate);
    next_sequence += 2;
  }
  return next_sequence;
}

}  // namespace

TEST_CASE("partition edges: a snapshot that cannot be written at a roll is reported and the log goes on",
          "[log][idempotence][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  std::int32_t next = 0;
  {
    Opened o(dir.path(), fs);
    next = append_until_rolled(*o.log, next, 1);
    REQUIRE(list_snapshots(posix, dir.path()).size() == 1);
    fs.fail_call(Op::write, 1, Fault::enospc);  // the next roll's snapshot
    next = append_until_rolled(*o.log, next, 1);
    CHECK(fs.faults_fired() == 1);
    CHECK(o.said("producer-state snapshot not written"));
    CHECK(list_snapshots(posix, dir.path()).size() == 1);
    CHECK(o.log->next_sequence(kProducer) == next);
    // A resend of the last batch is still recognised.
    CHECK(o.log->append(producer_batch(next - 2), 2).duplicate);
  }
  Opened again(dir.path(), fs);
  CHECK(again.log->next_sequence(kProducer) == next);
  CHECK(again.log->append(producer_batch(next - 2), 2).duplicate);
  // The open replayed past the older snapshot and saved its work.
  CHECK(list_snapshots(posix, dir.path()).size() == 2);
}

TEST_CASE("partition edges: a recovery point that cannot be written at a roll is reported",
          "[log][recovery][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  Opened o(dir.path(), fs, small_options(FsyncPolicy::every_batch));
  std::int32_t next = append_until_rolled(*o.log, 0, 1);
  // The roll writes the recovery point first (a rename), then the snapshot.
  fs.fail_call(Op::rename, 1, Fault::eio);
  next = append_until_rolled(*o.log, next, 1);
  CHECK(fs.faults_fired() == 1);
  CHECK(o.said("recovery point not updated"));
  CHECK_FALSE(o.said("producer-state snapshot not written"));
  CHECK(list_snapshots(posix, dir.path()).size() == 2);
  CHECK(o.log->next_sequence(kProducer) == next);
}

TEST_CASE("partition edges: a snapshot that cannot be read at open is removed and rebuilt",
          "[log][idempotence][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  std::int32_t next = 0;
  {
    Opened o(dir.path(), fs);
    next = append_until_rolled(*o.log, 0, 3);
  }
  const std::vector<std::int64_t> before = list_snapshots(posix, dir.path());
  REQUIRE(before.size() == 3);
  // Open reads the recovery point, then the newest snapshot.
  fs.fail_call(Op::read_file, 2, Fault::eio);
  Opened o(dir.path(), fs);
  CHECK(fs.faults_fired() == 1);
  CHECK(o.said("producer-state snapshot removed"));
  CHECK(o.said(std::strerror(EIO)));
  const std::int64_t end = o.log->end_offset();
  CHECK(o.log->next_sequence(kProducer) == next);
  CHECK(o.log->append(producer_batch(next - 2), 2).duplicate);
  // Rebuilt from the older snapshot, and saved as of the log end.
  CHECK(list_snapshots(posix, dir.path()) == std::vector<std::int64_t>{before[0], before[1], end});
}

TEST_CASE("partition edges: retention that cannot delete an old snapshot leaves it for later",
          "[log][idempotence][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  SegmentLogOptions options = small_options();
  options.retention_age = std::chrono::milliseconds(1);
  Opened o(dir.path(), fs, options);
  const std::int32_t next = append_until_rolled(*o.log, 0, 4);
  const std::vector<std::int64_t> bases = o.log->segment_base_offsets();
  REQUIRE(bases.size() == 5);
  REQUIRE(list_snapshots(posix, dir.path()) == std::vector<std::int64_t>(bases.begin() + 1, bases.end()));
  // Sequences equal offsets here, and timestamps are 1000 + sequence: a
  // segment's newest timestamp is 1000 + (the next segment's base - 2).
  const auto now_dropping_before = [&](std::size_t i) { return 1000 + bases[i] - 2 + 2; };
  // Deleting two segments unlinks six files; the seventh unlink is the
  // snapshot below the new start, which fails.
  fs.fail_call(Op::unlink, 7, Fault::eio);
  CHECK(o.log->enforce_retention(now_dropping_before(2)) == 2);
  CHECK(fs.faults_fired() == 1);
  CHECK(o.log->start_offset() == bases[2]);
  CHECK(list_snapshots(posix, dir.path()) == std::vector<std::int64_t>(bases.begin() + 1, bases.end()));
  CHECK(o.log->next_sequence(kProducer) == next);
  // The next pass that deletes something drops it too.
  CHECK(o.log->enforce_retention(now_dropping_before(3)) == 1);
  CHECK(o.log->start_offset() == bases[3]);
  CHECK(list_snapshots(posix, dir.path()) == std::vector<std::int64_t>(bases.begin() + 3, bases.end()));
  CHECK(o.log->next_sequence(kProducer) == next);
}
