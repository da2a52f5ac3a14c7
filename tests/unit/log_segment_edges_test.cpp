// Segments and the recovery point at their edges: bad segment settings and
// names, a segment whose creation fails part-way leaving no file behind
// (also when the clean-up itself fails), and recovery-point files whose
// checksum is right but whose fields are not.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>
#include <fmt/format.h>

#include "support/fault_injecting_file_system.hpp"
#include "log/file_system.hpp"
#include "log/recovery_point.hpp"
#include "log/segment.hpp"
#include "log/segment_format.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;
using rill::Error;
using rill::ErrorCode;
using rill::test::error_of;
using Fault = FaultInjectingFileSystem::Fault;
using Op = FaultInjectingFileSystem::Op;

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-segment-edges", true) {}
};

// Writes a recovery-point file holding `body` and a right checksum of it.
void write_point_body(FileSystem& fs, const std::string& dir, const std::string& body,
                      const std::string& checksum = "") {
  const std::string sum =
      checksum.empty() ? fmt::format("{:016x}", XXH3_64bits(body.data(), body.size())) : checksum;
  const std::string text = body + " checksum=" + sum + "\n";
  replace_file(fs, dir, "point.tmp", kRecoveryPointName,
               std::as_bytes(std::span<const char>(text.data(), text.size())), false);
}

}  // namespace

TEST_CASE("segment edges: settings out of range and a negative base are refused", "[log]") {
  TempDir dir;
  FileSystem& fs = default_file_system();
  CHECK(error_of([&] { (void)Segment::create(fs, dir.path(), 0, SegmentConfig{4096 + 512, 256}); }) ==
        ErrorCode::invalid_argument);
  CHECK(error_of([&] { (void)Segment::create(fs, dir.path(), 0, SegmentConfig{2048, 256}); }) ==
        ErrorCode::invalid_argument);
  CHECK(error_of([&] { (void)Segment::create(fs, dir.path(), 0, SegmentConfig{kMaxSegmentBytes + 4096, 256}); }) ==
        ErrorCode::invalid_argument);
  CHECK(error_of([&] { (void)Segment::create(fs, dir.path(), 0, SegmentConfig{4096, 63}); }) ==
        ErrorCode::invalid_argument);
  CHECK(error_of([&] { (void)Segment::create(fs, dir.path(), -1, SegmentConfig{4096, 256}); }) ==
        ErrorCode::invalid_argument);
  CHECK(dir.names().empty());  // refused before any file was made
  CHECK(error_of([&] { (void)Segment::open(fs, dir.path(), 0, SegmentConfig{4096, 256}); }) == ErrorCode::io);
}

TEST_CASE("segment edges: names past int64 or of the wrong shape are not segments", "[log]") {
  CHECK(parse_segment_log_name("09223372036854775807.log") == std::numeric_limits<std::int64_t>::max());
  CHECK_FALSE(parse_segment_log_name("09223372036854775808.log"));
  CHECK_FALSE(parse_segment_log_name("99999999999999999999.log"));
  CHECK_FALSE(parse_segment_log_name("-0000000000000000001.log"));
  CHECK_FALSE(parse_segment_log_name("00000000000000000001.lag"));
  CHECK_FALSE(parse_segment_log_name("00000000000000000001.logs"));
  CHECK_FALSE(parse_segment_log_name(""));
}

TEST_CASE("segment edges: a creation that fails part-way leaves no file behind", "[log][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  const SegmentConfig config{8192, 256};
  const std::string suffix = GENERATE(std::string(), std::string(kCleanedSuffix));
  // Each of the three files' open, and the first of the other calls.
  const auto [op, n] = GENERATE(std::pair{Op::open, 1}, std::pair{Op::open, 2}, std::pair{Op::open, 3},
                                std::pair{Op::allocate, 1}, std::pair{Op::map, 1}, std::pair{Op::map, 3},
                                std::pair{Op::truncate, 1});
  CAPTURE(suffix, static_cast<int>(op), n);
  fs.fail_call(op, n, Fault::enospc);
  CHECK(error_of([&] { (void)Segment::create(fs, dir.path(), 40, config, suffix); }) == ErrorCode::io);
  CHECK(fs.faults_fired() == 1);
  CHECK(dir.names().empty());
  // The next attempt succeeds.
  const auto segment = Segment::create(fs, dir.path(), 40, config, suffix);
  CHECK(segment->base_offset() == 40);
  CHECK(segment->next_offset() == 40);
  CHECK(dir.names().size() == 3);
}

TEST_CASE("segment edges: a failing clean-up does not hide the error that caused it", "[log][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  fs.fail_call(Op::map, 1, Fault::eio);
  fs.fail_call(Op::exists, 1, Fault::eio);  // the clean-up's first look fails
  CHECK_THROWS_WITH(Segment::create(fs, dir.path(), 0, SegmentConfig{8192, 256}), Catch::Contains("mmap"));
  CHECK(fs.faults_fired() == 2);
  // The clean-up went on with the other files; the log file it could not
  // look at is left for the next open to replace.
  CHECK(dir.names() == std::vector<std::string>{segment_stem(0) + std::string(kLogSuffix)});
  const auto segment = Segment::create(fs, dir.path(), 0, SegmentConfig{8192, 256});
  CHECK(dir.names().size() == 3);
}

TEST_CASE("recovery point edges: a right checksum over bad fields still reads as absent", "[log][recovery]") {
  TempDir dir;
  PosixFileSystem fs;
  write_point_body(fs, dir.path(), "rill-recovery-point 1 boot=b-1 offset=7");
  auto point = read_recovery_point(fs, dir.path());
  REQUIRE(point);
  CHECK(point->boot_id == "b-1");
  CHECK(point->offset == 7);

  const char* bad_bodies[] = {
      "rill-recovery-point 1 offset=7",              // no boot
      "rill-recovery-point 1 boot=b-1",              // no offset
      "rill-recovery-point 1 boot=b-1 offset=x7",    // offset not a number
      "rill-recovery-point 1 boot=b-1 offset=-7",    // negative offset
      "rill-recovery-point 1 boot=b-1 offset=",      // empty offset
      "rill-recovery-point 2 boot=b-1 offset=7",     // another version
  };
  for (const char* body : bad_bodies) {
    INFO(body);
    write_point_body(fs, dir.path(), body);
    CHECK_FALSE(read_recovery_point(fs, dir.path()));
  }
  write_point_body(fs, dir.path(), "rill-recovery-point 1 boot=b-1 offset=7", "not-hex");
  CHECK_FALSE(read_recovery_point(fs, dir.path()));
  // A negative offset written is not read back as one.
  write_recovery_point(fs, dir.path(), {"b-2", -1});
  CHECK_FALSE(read_recovery_point(fs, dir.path()));
  write_recovery_point(fs, dir.path(), {"b-2", std::numeric_limits<std::int64_t>::max()});
  point = read_recovery_point(fs, dir.path());
  REQUIRE(point);
  CHECK(point->boot_id == "b-2");
  CHECK(point->offset == std::numeric_limits<std::int64_t>::max());
}
