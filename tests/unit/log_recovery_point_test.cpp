// The recovery point (src/log/recovery_point.hpp): after a restart of the
// machine (a new boot id), damage followed by valid data past the last
// synced offset is a tail the restart tore and is cut; the same damage
// without a restart, or below the synced offset, is refused.
#include <algorithm>
#include <string>
#include <vector>

#include "log_test_util.hpp"

#include "log/fault_injecting_file_system.hpp"
#include "log/partition_log.hpp"
#include "log/recovery_point.hpp"
#include "log/segment_format.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;

// Several 4 KiB segments without index entries, so that recovery checks
// every batch of every segment.
PartitionLogOptions options_for(FsyncPolicy policy) {
  PartitionLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = std::size_t{1} << 20;
  o.fsync_policy = policy;
  return o;
}

void fill(FileSystem& fs, const std::string& dir, FsyncPolicy policy) {
  auto log = PartitionLog::open(dir, options_for(policy), fs);
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
  (void)PartitionLog::open(dir.path(), options_for(FsyncPolicy::none), fs);
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
  CHECK(rill::test::error_of([&] { (void)PartitionLog::open(dir.path(), options_for(FsyncPolicy::none), fs); }) ==
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
  auto log = PartitionLog::open(dir.path(), options_for(FsyncPolicy::none), fs,
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
  CHECK(rill::test::error_of([&] { (void)PartitionLog::open(dir.path(), options_for(FsyncPolicy::none), fs); }) ==
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
          (void)PartitionLog::open(dir.path(), options_for(FsyncPolicy::every_batch), fs);
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
  PartitionLogOptions options = options_for(FsyncPolicy::none);
  options.index_interval_bytes = 64;
  {
    auto log = PartitionLog::open(dir.path(), options, fs);
    for (int k = 0; k < 80; ++k) (void)log->append(rill::test::make_batch(3, 1000 + k, "b" + std::to_string(k)), 3);
    REQUIRE(log->segment_base_offsets().size() >= 3);
  }
  damage_first_batch(dir.path());
  fs.power_loss({FaultInjectingFileSystem::Unsynced::keep});
  std::vector<std::string> lines;
  auto log = PartitionLog::open(dir.path(), options, fs, [&](const std::string& line) { lines.push_back(line); });
  CHECK(log->end_offset() == 0);
  CHECK(log->segment_base_offsets() == std::vector<std::int64_t>{0});
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("restarted") != std::string::npos && l.find("cut there") != std::string::npos;
  }));
  // Appends go on from the cut.
  CHECK(log->append(rill::test::make_batch(3, 3000, "next"), 3).base_offset == 0);
}
