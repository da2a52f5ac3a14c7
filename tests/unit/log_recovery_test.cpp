// Recovery on open: torn tails at every byte, every bit flip of the last
// batch, mid-log damage (refused, or repaired on request), indexes rebuilt
// from the log, and power loss under the every-batch policy.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"
#include "support/fault_injecting_file_system.hpp"
#include "log/segment_log.hpp"
#include "rill/error.hpp"
#include "test_util.hpp"

namespace {

using namespace rill::log;
using rill::FsyncPolicy;
using rill::Error;
using rill::ErrorCode;
using Bytes = std::vector<std::byte>;
using Records = std::vector<std::pair<std::int64_t, std::string>>;
using Files = std::map<std::string, Bytes>;
namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-recovery", false) {}
};

Bytes read_bytes(const std::string& path) { return default_file_system().read_file(path); }

void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Every file of a directory, by name.
Files snapshot(const std::string& dir) {
  Files files;
  for (const auto& e : fs::directory_iterator(dir)) files[e.path().filename()] = read_bytes(e.path());
  return files;
}

void restore(const std::string& dir, const Files& files) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [name, bytes] : files) write_bytes(dir + "/" + name, bytes);
}

using rill::test::make_batch;

// One appended batch: where it lies and what it holds.
struct Placed {
  std::size_t segment;   // index in segment_base_offsets()
  std::size_t position;  // byte in the segment's .log
  std::size_t length;
  std::int64_t next_offset;
  Records records;
};

// Appends `count` batches of 1-4 records to `placed`, recording where each landed.
void fill(SegmentLog& log, std::vector<Placed>& placed, int count) {
  for (int i = 0; i < count; ++i) {
    const int k = static_cast<int>(placed.size());
    const int records = 1 + k % 4;
    const std::string tag = "b" + std::to_string(k);
    const Bytes batch = make_batch(records, 1000 + k, tag);
    const std::int64_t base = log.append(batch, records).base_offset;
    Placed p{log.segment_base_offsets().size() - 1, 0, batch.size(), base + records, {}};
    if (!placed.empty() && placed.back().segment == p.segment) {
      p.position = placed.back().position + rill::codec::padded_batch_size(placed.back().length);
    }
    for (int r = 0; r < records; ++r) p.records.emplace_back(base + r, tag + "/" + std::to_string(r));
    placed.push_back(std::move(p));
  }
}

using rill::test::records_of;

Records read_all(const SegmentLog& log) {
  Records out;
  for (std::int64_t next = log.start_offset(); next < log.end_offset();) {
    const ReadResult r = log.read(next, 1 << 20);
    REQUIRE(r.status == ReadStatus::ok);
    for (const auto& rec : records_of(r.bytes)) out.push_back(rec);
    next = out.back().first + 1;
  }
  return out;
}

Records records_up_to(const std::vector<Placed>& placed, std::size_t batches) {
  Records out;
  for (std::size_t i = 0; i < batches; ++i) out.insert(out.end(), placed[i].records.begin(), placed[i].records.end());
  return out;
}

SegmentLogOptions small_options() {
  SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = 256;
  return o;
}

// The real file system without its syncs: for the tests that reopen a log
// thousands of times and check what recovery decides, not what survives a
// power loss (fdatasync costs milliseconds on some disks).
class UnsyncedFileSystem final : public FileSystem {
 public:
  File open(const std::string& path, OpenMode mode) override { return posix_.open(path, mode); }
  void close(File& file) noexcept override { posix_.close(file); }
  std::uint64_t file_size(const File& file) override { return posix_.file_size(file); }
  void allocate(const File& file, std::uint64_t size) override { posix_.allocate(file, size); }
  void truncate(const File& file, std::uint64_t size) override { posix_.truncate(file, size); }
  std::byte* map(const File& file, std::size_t size) override { return posix_.map(file, size); }
  void unmap(std::byte* mapping, std::size_t size) noexcept override { posix_.unmap(mapping, size); }
  void sync(const File&, std::byte*, std::size_t, std::size_t) override {}
  void write(const File& file, std::uint64_t offset, std::span<const std::byte> bytes) override {
    posix_.write(file, offset, bytes);
  }
  void rename(const std::string& from, const std::string& to) override { posix_.rename(from, to); }
  void unlink(const std::string& path) override { posix_.unlink(path); }
  void create_directories(const std::string& path) override { posix_.create_directories(path); }
  void sync_directory(const std::string&) override {}
  std::vector<std::byte> read_file(const std::string& path) override { return posix_.read_file(path); }
  std::vector<std::string> list_directory(const std::string& path) override {
    return posix_.list_directory(path);
  }
  bool exists(const std::string& path) override { return posix_.exists(path); }

 private:
  PosixFileSystem posix_;
};

struct Opened {
  std::unique_ptr<SegmentLog> log;
  std::vector<std::string> lines;
};

Opened open_log(const std::string& dir, const SegmentLogOptions& options,
                FileSystem& fs = default_file_system()) {
  Opened o;
  auto* lines = &o.lines;
  o.log = SegmentLog::open(dir, options, fs,
                             [lines](const std::string& line) { lines->push_back(line); });
  return o;
}

bool any_line_has(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

bool zero_from(const Bytes& b, std::size_t from) {
  return std::all_of(b.begin() + static_cast<std::ptrdiff_t>(from), b.end(),
                     [](std::byte x) { return x == std::byte{0}; });
}

}  // namespace

TEST_CASE("recovery: a cut at every byte of a three-segment log keeps the longest valid prefix", "[log]") {
  TempDir dir;
  std::vector<Placed> placed;
  std::vector<std::int64_t> bases;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    while (log->segment_base_offsets().size() < 3) fill(*log, placed, 1);
    fill(*log, placed, 6);  // a few batches in the third segment
    REQUIRE(log->segment_base_offsets().size() == 3);
    bases = log->segment_base_offsets();
  }
  const Files pristine = snapshot(dir.path());
  UnsyncedFileSystem unsynced;
  // Bytes used in each segment: up to the end of its last batch.
  std::vector<std::size_t> used(3, 0);
  for (const Placed& p : placed) used[p.segment] = p.position + p.length;

  for (std::size_t seg = 0; seg < 3; ++seg) {
    restore(dir.path(), pristine);
    for (std::size_t cut = 0; cut <= used[seg]; ++cut) {
      // Earlier segments are never written by recovery or the append below.
      for (const char* suffix : {".index", ".timeindex"}) {
        const std::string name = segment_stem(bases[seg]) + suffix;
        write_bytes(dir.file(name), pristine.at(name));
      }
      const Bytes& whole = pristine.at(segment_stem(bases[seg]) + ".log");
      write_bytes(dir.file(segment_stem(bases[seg]) + ".log"), Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut)));
      for (std::size_t later = seg + 1; later < 3; ++later) {
        for (const char* suffix : {".log", ".index", ".timeindex"}) {
          fs::remove(dir.file(segment_stem(bases[later]) + suffix));
        }
      }
      // A batch survives when the bytes it lost were zero anyway (its last
      // bytes can be); it is torn when what is left of it is not all zero
      // (the low bytes of its base offset can be).
      const Bytes& log_bytes = pristine.at(segment_stem(bases[seg]) + ".log");
      const auto all_zero = [&](std::size_t from, std::size_t to) {
        return std::all_of(log_bytes.begin() + static_cast<std::ptrdiff_t>(from),
                           log_bytes.begin() + static_cast<std::ptrdiff_t>(to),
                           [](std::byte x) { return x == std::byte{0}; });
      };
      std::size_t kept = 0;
      bool torn = false;
      for (const Placed& p : placed) {
        const std::size_t end = p.position + p.length;
        if (p.segment < seg || (p.segment == seg && (end <= cut || (p.position < cut && all_zero(cut, end))))) {
          ++kept;
        } else if (p.segment == seg && p.position < cut) {
          torn = !all_zero(p.position, cut);
        }
      }
      INFO("segment " << seg << ", cut at byte " << cut << ", batches kept " << kept);
      Opened opened = open_log(dir.path(), small_options(), unsynced);
      const std::int64_t end = kept == 0 ? 0 : placed[kept - 1].next_offset;
      REQUIRE(opened.log->end_offset() == end);
      REQUIRE(read_all(*opened.log) == records_up_to(placed, kept));
      REQUIRE(any_line_has(opened.lines, "truncated a torn tail") == torn);
      // The log goes on from there.
      REQUIRE(opened.log->append(make_batch(1, 0, "next"), 1).base_offset == end);
    }
  }
}

TEST_CASE("recovery: every single-bit flip in the last batch is detected and cut off", "[log]") {
  TempDir dir;
  SegmentLogOptions options = small_options();
  std::vector<Placed> placed;
  {
    auto log = SegmentLog::open(dir.path(), options);
    fill(*log, placed, 5);
  }
  const Files pristine = snapshot(dir.path());
  const std::string log_name = segment_stem(0) + ".log";
  const Placed& last = placed.back();
  UnsyncedFileSystem unsynced;
  for (std::size_t bit = 0; bit < last.length * 8; ++bit) {
    Files damaged = pristine;
    damaged[log_name][last.position + bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
    restore(dir.path(), damaged);
    INFO("bit " << bit << " of the last batch");
    Opened opened = open_log(dir.path(), options, unsynced);
    REQUIRE(opened.log->end_offset() == placed[3].next_offset);
    REQUIRE(read_all(*opened.log) == records_up_to(placed, 4));
    REQUIRE(any_line_has(opened.lines, dir.file(log_name) + ": truncated a torn tail at byte " +
                                           std::to_string(last.position)));
    opened.log.reset();
    REQUIRE(zero_from(read_bytes(dir.file(log_name)), last.position));
  }
}

TEST_CASE("recovery: garbage in the preallocated tail is zero-filled", "[log]") {
  TempDir dir;
  std::vector<Placed> placed;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    fill(*log, placed, 4);
  }
  const std::string log_name = dir.file(segment_stem(0) + ".log");
  Bytes bytes = read_bytes(log_name);
  const std::size_t end = placed.back().position + rill::codec::padded_batch_size(placed.back().length);
  std::mt19937_64 random(rill::test::seed());
  for (std::size_t i = end + 100; i < end + 300; ++i) bytes[i] = static_cast<std::byte>(random());
  write_bytes(log_name, bytes);
  Opened opened = open_log(dir.path(), small_options());
  CHECK(read_all(*opened.log) == records_up_to(placed, 4));
  CHECK(any_line_has(opened.lines, "truncated a torn tail at byte " + std::to_string(end)));
  opened.log.reset();
  CHECK(zero_from(read_bytes(log_name), end));
}

TEST_CASE("recovery: damage followed by valid batches is refused, and repaired only on request", "[log]") {
  TempDir dir;
  SegmentLogOptions options = small_options();
  options.index_interval_bytes = 1 << 20;  // no index entries: the whole segment is scanned
  std::vector<Placed> placed;
  {
    auto log = SegmentLog::open(dir.path(), options);
    fill(*log, placed, 6);
  }
  const std::string log_name = dir.file(segment_stem(0) + ".log");
  Bytes bytes = read_bytes(log_name);
  bytes[placed[2].position + 70] ^= std::byte{0x10};  // inside batch 2's records
  write_bytes(log_name, bytes);
  const Files damaged = snapshot(dir.path());

  try {
    (void)open_log(dir.path(), options);
    FAIL("a log damaged in the middle was opened");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::corrupt);
    const std::string message = e.what();
    CHECK(message.find(log_name) != std::string::npos);
    CHECK(message.find("byte " + std::to_string(placed[2].position)) != std::string::npos);
    CHECK(message.find("checksum") != std::string::npos);
  }
  CHECK(snapshot(dir.path()) == damaged);  // refusing changed nothing

  options.repair = true;
  Opened opened = open_log(dir.path(), options);
  CHECK(opened.log->end_offset() == placed[1].next_offset);
  CHECK(read_all(*opened.log) == records_up_to(placed, 2));
  CHECK(any_line_has(opened.lines, log_name + ": repaired: cut at byte " + std::to_string(placed[2].position)));
  CHECK(read_bytes(log_name + ".damaged") == damaged.at(segment_stem(0) + ".log"));
  opened.log.reset();
  CHECK(zero_from(read_bytes(log_name), placed[2].position));
}

TEST_CASE("recovery: a damaged closed segment is refused, repair cuts there and moves later segments aside", "[log]") {
  TempDir dir;
  std::vector<Placed> placed;
  std::vector<std::int64_t> bases;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    fill(*log, placed, 200);
    bases = log->segment_base_offsets();
  }
  REQUIRE(bases.size() >= 3);
  // The last batch of the first segment.
  std::size_t victim = 0;
  while (placed[victim + 1].segment == 0) ++victim;
  const std::string first = dir.file(segment_stem(0) + ".log");
  Bytes bytes = read_bytes(first);
  bytes[placed[victim].position + 30] ^= std::byte{1};
  write_bytes(first, bytes);

  CHECK_THROWS_MATCHES(open_log(dir.path(), small_options()), Error,
                       Catch::Predicate<Error>([](const Error& e) { return e.code() == ErrorCode::corrupt; }));
  SegmentLogOptions options = small_options();
  options.repair = true;
  Opened opened = open_log(dir.path(), options);
  CHECK(opened.log->segment_base_offsets() == std::vector<std::int64_t>{0});
  CHECK(read_all(*opened.log) == records_up_to(placed, victim));
  for (std::size_t i = 1; i < bases.size(); ++i) {
    const std::string stem = dir.file(segment_stem(bases[i]));
    CHECK(fs::exists(stem + ".log.damaged"));
    CHECK_FALSE(fs::exists(stem + ".log"));
    CHECK_FALSE(fs::exists(stem + ".index"));
  }
  CHECK(opened.log->append(make_batch(1, 0, "x"), 1).base_offset == placed[victim - 1].next_offset);
}

TEST_CASE("recovery: missing or damaged indexes are rebuilt from the log, byte for byte", "[log]") {
  TempDir dir;
  std::vector<Placed> placed;
  std::vector<std::int64_t> bases;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    fill(*log, placed, 150);
    bases = log->segment_base_offsets();
  }
  const Files pristine = snapshot(dir.path());
  SECTION("missing") {
    for (std::int64_t base : bases) {
      fs::remove(dir.file(segment_stem(base) + ".index"));
      fs::remove(dir.file(segment_stem(base) + ".timeindex"));
    }
  }
  SECTION("damaged") {
    std::mt19937_64 random(rill::test::seed());
    for (std::int64_t base : bases) {
      Bytes index = pristine.at(segment_stem(base) + ".index");
      for (std::size_t i = 8; i < 40; ++i) index[i] = static_cast<std::byte>(random());
      write_bytes(dir.file(segment_stem(base) + ".index"), index);
    }
  }
  Opened opened = open_log(dir.path(), small_options());
  for (std::int64_t base : bases) {
    CHECK(any_line_has(opened.lines, segment_stem(base) + ".log: index entries disagreed"));
  }
  CHECK(read_all(*opened.log) == records_up_to(placed, placed.size()));
  CHECK(opened.log->offset_for_timestamp(1100) == placed[98].records.front().first);
  opened.log.reset();
  CHECK(snapshot(dir.path()) == pristine);
}

TEST_CASE("recovery: power loss under the every-batch policy loses no synced batch", "[log]") {
  using Unsynced = FaultInjectingFileSystem::Unsynced;
  const auto unsynced = GENERATE(Unsynced::drop, Unsynced::keep, Unsynced::garbage, Unsynced::mixed);
  const std::size_t block = GENERATE(std::size_t{512}, std::size_t{4096});
  const std::uint64_t seed = rill::test::seed();
  INFO("unsynced mode " << static_cast<int>(unsynced) << ", block " << block);
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem faulty(posix);
  SegmentLogOptions options = small_options();
  options.fsync_policy = FsyncPolicy::every_batch;
  std::vector<Placed> placed;
  {
    auto log = SegmentLog::open(dir.path(), options, faulty);
    fill(*log, placed, 120);  // several segments, every batch synced
    REQUIRE(log->durable_end_offset() == log->end_offset());
    // One more batch whose sync fails: it is in memory, not on disk.
    faulty.fail_call(FaultInjectingFileSystem::Op::sync, 1, FaultInjectingFileSystem::Fault::eio);
    std::vector<Placed> unsynced_batch = placed;
    CHECK_THROWS_AS(fill(*log, unsynced_batch, 1), Error);
  }
  faulty.power_loss({unsynced, block, seed});
  Opened opened = open_log(dir.path(), options);
  const Records after = read_all(*opened.log);
  const Records synced = records_up_to(placed, placed.size());
  REQUIRE(after.size() >= synced.size());
  CHECK(Records(after.begin(), after.begin() + static_cast<std::ptrdiff_t>(synced.size())) == synced);
  // The unsynced batch is entirely there or entirely gone.
  const std::size_t extra = after.size() - synced.size();
  CHECK((extra == 0 || extra == static_cast<std::size_t>(1 + 120 % 4)));
}

TEST_CASE("recovery: a tail lost across a roll is cut when the later segments are empty", "[log]") {
  TempDir dir;
  std::vector<Placed> placed;
  std::vector<std::int64_t> bases;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    while (log->segment_base_offsets().size() < 3) fill(*log, placed, 1);
    fill(*log, placed, 3);
    bases = log->segment_base_offsets();
  }
  // Keep the first three batches of segment 1 and a few bytes of the fourth.
  std::size_t first_of_1 = 0;
  while (placed[first_of_1].segment != 1) ++first_of_1;
  const std::size_t cut = placed[first_of_1 + 3].position + 10;
  const std::string middle = dir.file(segment_stem(bases[1]) + ".log");
  const std::string newest = dir.file(segment_stem(bases[2]) + ".log");

  SECTION("the newest segment lost everything: the log ends in the middle one") {
    fs::resize_file(middle, cut);
    fs::resize_file(newest, 0);
    Opened opened = open_log(dir.path(), small_options());
    CHECK(opened.log->segment_base_offsets() == std::vector<std::int64_t>{bases[0], bases[1]});
    CHECK(read_all(*opened.log) == records_up_to(placed, first_of_1 + 3));
    CHECK(any_line_has(opened.lines, middle + ": truncated a torn tail at byte " +
                                         std::to_string(placed[first_of_1 + 3].position)));
    CHECK(any_line_has(opened.lines, newest + ": held no batch after the torn tail; removed"));
    CHECK_FALSE(fs::exists(newest));
    CHECK(opened.log->append(make_batch(1, 0, "x"), 1).base_offset ==
          placed[first_of_1 + 2].next_offset);
  }
  SECTION("the newest segment holds only garbage (torn sectors): it goes as well") {
    fs::resize_file(middle, cut);
    Bytes garbage = read_bytes(newest);
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::byte>(i * 131 + 7);
    write_bytes(newest, garbage);
    Opened opened = open_log(dir.path(), small_options());
    CHECK(opened.log->segment_base_offsets() == std::vector<std::int64_t>{bases[0], bases[1]});
    CHECK(read_all(*opened.log) == records_up_to(placed, first_of_1 + 3));
    CHECK(any_line_has(opened.lines, newest + ": held no batch after the torn tail; removed"));
    CHECK_FALSE(fs::exists(newest));
  }
  SECTION("the newest segment still holds batches: the gap is refused") {
    fs::resize_file(middle, cut);
    CHECK_THROWS_WITH(open_log(dir.path(), small_options()),
                      Catch::Contains(middle) && Catch::Contains("damaged in the middle of the log at byte"));
  }
}
