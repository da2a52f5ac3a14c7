// The recovery point (src/log/recovery_point.hpp): after a restart of the
// machine (a new boot id), damage followed by valid data past the last
// synced offset is a tail the restart tore and is cut; the same damage
// without a restart, or below the synced offset, is refused.
#include <algorithm>
#include <string>
#include <vector>

#include "log_test_util.hpp"

#include "support/fault_injecting_file_system.hpp"
#include "log/segment_log.hpp"
#include "log/recovery_point.hpp"
#include "log/segment_format.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;
using rill::FsyncPolicy;

// Several 4 KiB segments without index entries, so that recovery checks
// every batch of every segment.
SegmentLogOptions options_for(FsyncPolicy policy) {
  SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = std::size_t{1} << 20;
  o.fsync_policy = policy;
  return o;
}

void fill(FileSystem& fs, const std::string& dir, FsyncPolicy policy) {
  auto log = SegmentLog::open(dir, options_for(policy), fs);
  for (int k = 0; k < 80; ++k) (void)log->append(rill::test::make_batch(3, 1000 + k, "b" + std::to_string(k)), 3);
  REQUIRE(log->segment_base_offsets().size() >= 3);
}

// Flips one byte inside the first batch's records: a checksum mismatch
// followed by valid batches.
void damage_first_batch(const std::string& dir) {
  const std::string path = dir + "/" + segment_stem(0) + std::string(kLogSuffix);
  std::vector<std::byte> bytes = default_file_system().read_file(path);
  bytes[70] ^= std::byte{0x01};
  File file = default_file_system().open(path, OpenMode::existing);
  default_file_system().write(file, 0, bytes);
  default_file_system().close(file);
}

}  // namespace

TEST_CASE("recovery point: written when a folder is created, naming this boot", "[log][recovery]") {
  rill::test::TempDir dir("rill-recovery-point");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  (void)SegmentLog::open(dir.path(), options_for(FsyncPolicy::none), fs);
  const auto point = read_recovery_point(fs, dir.path());
  REQUIRE(point);
  CHECK(point->boot_id == fs.boot_id());
  CHECK(point->offset == 0);
  fs.power_loss({});
  CHECK(fs.boot_id() != point->boot_id);  // a simulated power loss is a restart
}

TEST_CASE("recovery point: damage followed by valid data is refused without a restart", "[log][recovery]") {
  rill::test::TempDir dir("rill-recovery-point");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  fill(fs, dir.path(), FsyncPolicy::none);
  damage_first_batch(dir.path());
  CHECK(rill::test::error_of([&] { (void)SegmentLog::open(dir.path(), options_for(FsyncPolicy::none), fs); }) ==
        rill::ErrorCode::corrupt);
}

TEST_CASE("recovery point: after a restart, unsynced damage followed by valid data is cut", "[log][recovery]") {
  rill::test::TempDir dir("rill-recovery-point");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  fill(fs, dir.path(), FsyncPolicy::none);  // never synced: the recovery point stays at 0
  damage_first_batch(dir.path());
  fs.power_loss({FaultInjectingFileSystem::Unsynced::keep});  // the pages reached the disk as they are
  std::vector<std::string> lines;
  auto log = SegmentLog::open(dir.path(), options_for(FsyncPolicy::none), fs,
                                [&](const std::string& line) { lines.push_back(line); });
  CHECK(log->end_offset() == 0);  // the longest valid prefix
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("restarted") != std::string::npos && l.find("cut there") != std::string::npos;
  }));
  CHECK(posix.exists(dir.path() + "/" + segment_stem(0) + std::string(kLogSuffix) + std::string(kDamagedSuffix)));
  // The folder now belongs to this boot: the same damage again is refused.
  CHECK(read_recovery_point(fs, dir.path())->boot_id == fs.boot_id());
  (void)log->append(rill::test::make_batch(3, 2000, "after"), 3);
  (void)log->append(rill::test::make_batch(3, 2001, "after2"), 3);
  log.reset();
  damage_first_batch(dir.path());
  CHECK(rill::test::error_of([&] { (void)SegmentLog::open(dir.path(), options_for(FsyncPolicy::none), fs); }) ==
        rill::ErrorCode::corrupt);
}

TEST_CASE("recovery point: after a restart, damage below the synced offset is still refused", "[log][recovery]") {
  rill::test::TempDir dir("rill-recovery-point");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  fill(fs, dir.path(), FsyncPolicy::every_batch);  // each roll records the synced offset
  REQUIRE(read_recovery_point(fs, dir.path())->offset > 0);
  damage_first_batch(dir.path());
  fs.power_loss({FaultInjectingFileSystem::Unsynced::keep});
  CHECK(rill::test::error_of([&] {
          (void)SegmentLog::open(dir.path(), options_for(FsyncPolicy::every_batch), fs);
        }) == rill::ErrorCode::corrupt);
}

TEST_CASE("recovery point: a damaged or foreign file reads as absent", "[log][recovery]") {
  rill::test::TempDir dir("rill-recovery-point");
  PosixFileSystem posix;
  write_recovery_point(posix, dir.path(), {"boot-a", 42});
  const auto point = read_recovery_point(posix, dir.path());
  REQUIRE(point);
  CHECK(point->boot_id == "boot-a");
  CHECK(point->offset == 42);
  const std::string path = dir.path() + "/" + kRecoveryPointName;
  std::vector<std::byte> bytes = posix.read_file(path);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::vector<std::byte> flipped = bytes;
    flipped[i] ^= std::byte{0x04};
    File file = posix.open(path, OpenMode::existing);
    posix.truncate(file, 0);
    posix.write(file, 0, flipped);
    posix.close(file);
    INFO("byte " << i);
    CHECK_FALSE(read_recovery_point(posix, dir.path()));
  }
}

TEST_CASE("recovery point: after a restart, damage before a closed segment's last index entry is cut",
          "[log][recovery]") {
  // Every batch indexed: without the restart, recovery would check each
  // closed segment from its last index entry only, and miss this damage.
  rill::test::TempDir dir("rill-recovery-point");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  SegmentLogOptions options = options_for(FsyncPolicy::none);
  options.index_interval_bytes = 64;
  {
    auto log = SegmentLog::open(dir.path(), options, fs);
    for (int k = 0; k < 80; ++k) (void)log->append(rill::test::make_batch(3, 1000 + k, "b" + std::to_string(k)), 3);
    REQUIRE(log->segment_base_offsets().size() >= 3);
  }
  damage_first_batch(dir.path());
  fs.power_loss({FaultInjectingFileSystem::Unsynced::keep});
  std::vector<std::string> lines;
  auto log = SegmentLog::open(dir.path(), options, fs, [&](const std::string& line) { lines.push_back(line); });
  CHECK(log->end_offset() == 0);
  CHECK(log->segment_base_offsets() == std::vector<std::int64_t>{0});
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("restarted") != std::string::npos && l.find("cut there") != std::string::npos;
  }));
  // Appends go on from the cut.
  CHECK(log->append(rill::test::make_batch(3, 3000, "next"), 3).base_offset == 0);
}

TEST_CASE("recovery point: a closed log vouches for its last batch, so damage there is refused, also after a restart", "[log][recovery][damage]") {
  rill::test::TempDir dir("rill-recovery-point");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  const FsyncPolicy policy = GENERATE(FsyncPolicy::none, FsyncPolicy::interval, FsyncPolicy::every_batch);
  std::int64_t end = 0;
  std::string active;
  {
    auto log = SegmentLog::open(dir.path(), options_for(policy), fs);
    for (int k = 0; k < 10; ++k) (void)log->append(rill::test::make_batch(3, 1000 + k, "b" + std::to_string(k)), 3);
    log->sync();  // an orderly close: sync, then the recovery point
    log->checkpoint();
    end = log->end_offset();
    active = dir.path() + "/" + segment_stem(log->segment_base_offsets().back()) + std::string(kLogSuffix);
  }
  REQUIRE(read_recovery_point(fs, dir.path())->offset == end);
  // One bit in the records of the last batch, which nothing follows.
  std::vector<std::byte> bytes = posix.read_file(active);
  std::size_t last_non_zero = bytes.size();
  while (last_non_zero > 0 && bytes[last_non_zero - 1] == std::byte{0}) --last_non_zero;
  REQUIRE(last_non_zero > 0);
  bytes[last_non_zero - 2] ^= std::byte{0x10};
  File file = posix.open(active, OpenMode::existing);
  posix.write(file, 0, bytes);
  posix.close(file);
  const bool restart = GENERATE(false, true);
  if (restart) fs.power_loss({FaultInjectingFileSystem::Unsynced::keep});
  const std::string message = [&] {
    try {
      (void)SegmentLog::open(dir.path(), options_for(policy), fs);
    } catch (const rill::Error& e) {
      CHECK(e.code() == rill::ErrorCode::corrupt);
      return std::string(e.what());
    }
    return std::string("opened");
  }();
  CHECK_THAT(message, Catch::Contains(active) && Catch::Contains("synced or closed in order") &&
                          Catch::Contains("nothing was cut"));
  CHECK(posix.read_file(active) == bytes);  // nothing was cut
  // A repair cuts it, keeps a copy, and lowers the recovery point to the new end.
  SegmentLogOptions repair = options_for(policy);
  repair.repair = true;
  auto log = SegmentLog::open(dir.path(), repair, fs, [](const std::string&) {});
  CHECK(log->end_offset() == end - 3);
  CHECK(posix.exists(active + std::string(kDamagedSuffix)));
  CHECK(read_recovery_point(fs, dir.path())->offset == end - 3);
}

TEST_CASE("recovery point: a log that ends before the recovery point is refused and repair accepts it", "[log][recovery][damage]") {
  rill::test::TempDir dir("rill-recovery-point");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  fill(fs, dir.path(), FsyncPolicy::every_batch);
  std::vector<std::int64_t> bases;
  {
    auto log = SegmentLog::open(dir.path(), options_for(FsyncPolicy::every_batch), fs);
    log->checkpoint();
    bases = log->segment_base_offsets();
  }
  REQUIRE(bases.size() >= 3);
  // The newest segment's files vanish (a restore from an older copy, say).
  const std::string stem = dir.path() + "/" + segment_stem(bases.back());
  for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) posix.unlink(stem + std::string(suffix));
  const std::int64_t synced = read_recovery_point(fs, dir.path())->offset;
  REQUIRE(synced > bases.back());
  CHECK_THROWS_WITH(SegmentLog::open(dir.path(), options_for(FsyncPolicy::every_batch), fs),
                    Catch::Contains("records are missing") && Catch::Contains(std::to_string(synced)));
  SegmentLogOptions repair = options_for(FsyncPolicy::every_batch);
  repair.repair = true;
  std::vector<std::string> lines;
  auto log = SegmentLog::open(dir.path(), repair, fs, [&](const std::string& l) { lines.push_back(l); });
  CHECK(log->end_offset() == bases.back());
  CHECK(read_recovery_point(fs, dir.path())->offset == bases.back());
  CHECK(std::any_of(lines.begin(), lines.end(),
                    [](const std::string& l) { return l.find("short of the recovery point") != std::string::npos; }));
}
