// SegmentLog::compact (log/log_cleaner.hpp): the newest record per key
// stays with its offset, timestamp, headers and order; tombstones go after
// their delay; keyless records stay; a reader keeps the bytes it mapped;
// reopening (also after a crash that left ".cleaned" files or stale
// indexes) reads the same records; real damage is still refused; retention
// and compaction together; a writer appending while passes run.
#include <algorithm>
#include <cstring>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"
#include "support/fault_injecting_file_system.hpp"
#include "log/segment_log.hpp"
#include "log/segment_format.hpp"
#include "rill/error.hpp"
#include "test_util.hpp"

namespace {

using namespace rill::log;
using rill::FsyncPolicy;
using rill::Error;
using rill::ErrorCode;
using Opt = std::optional<std::string>;

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-compaction", false) {}
};

// One record as written and as read back.
struct Rec {
  std::int64_t offset = -1;
  Opt key;
  Opt value;
  std::int64_t timestamp = 0;
  std::string header;  // value of header "h" ("" when none)
  bool operator==(const Rec&) const = default;
};

SegmentLogOptions small_options() {
  SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = 256;
  return o;
}

// Appends one batch of `recs` (offsets assigned by the log) and returns
// them with their offsets.
std::vector<Rec> append(SegmentLog& log, std::vector<Rec> recs, std::mutex* writer = nullptr) {
  rill::codec::BatchBuilder builder(1 << 14);
  builder.reset();
  for (const Rec& r : recs) {
    rill::Record record;
    if (r.key) record.key = *r.key;
    if (r.value) record.value = *r.value;
    const rill::Header header{"h", r.header};
    if (!r.header.empty()) record.headers = std::span<const rill::Header>(&header, 1);
    // Not REQUIRE: this also runs on a test's producer thread.
    if (!builder.try_append(record, r.timestamp)) throw std::runtime_error("test record too large");
  }
  const auto batch = builder.finish();
  std::unique_lock<std::mutex> lock;
  if (writer != nullptr) lock = std::unique_lock<std::mutex>(*writer);
  const Appended a = log.append(batch, static_cast<std::int64_t>(recs.size()));
  for (std::size_t i = 0; i < recs.size(); ++i) recs[i].offset = a.base_offset + static_cast<std::int64_t>(i);
  return recs;
}

Rec keyed(std::string key, Opt value, std::int64_t ts = 1000, std::string header = "") {
  return Rec{-1, std::move(key), std::move(value), ts, std::move(header)};
}

// Every record from the start offset to the end, following gaps.
std::vector<Rec> read_all(const SegmentLog& log) {
  std::vector<Rec> out;
  std::int64_t next = log.start_offset();
  while (next < log.end_offset()) {
    const ReadResult r = log.read(next, 200);
    REQUIRE(r.status == ReadStatus::ok);
    std::span<const std::byte> bytes = r.bytes;
    while (!bytes.empty()) {
      const rill::codec::BatchView batch = next_batch(bytes);
      REQUIRE(batch.valid());
      rill::codec::RecordReader reader(batch);
      rill::codec::DecodedRecord d;
      rill::codec::DecodeStatus status;
      while ((status = reader.next(d)) == rill::codec::DecodeStatus::ok) {
        if (d.offset < next) continue;
        Rec rec{d.offset, d.key ? Opt(std::string(*d.key)) : Opt(), d.value ? Opt(std::string(*d.value)) : Opt(),
                d.timestamp, ""};
        for (const rill::Header& h : d.headers()) rec.header = std::string(h.value);
        out.push_back(rec);
      }
      REQUIRE(status == rill::codec::DecodeStatus::incomplete);
      next = std::max(next, batch.next_offset());
    }
  }
  return out;
}

// What compaction must leave: records of closed segments (offset below
// `active_base`) that are their key's newest (and not an expired tombstone),
// every keyless record, and everything from `active_base` on.
std::vector<Rec> expected_after(const std::vector<Rec>& written, std::int64_t active_base,
                                std::int64_t tombstone_deadline = INT64_MIN) {
  std::map<std::string, std::int64_t> newest;
  for (const Rec& r : written) {
    if (r.key) newest[*r.key] = r.offset;
  }
  std::vector<Rec> out;
  for (const Rec& r : written) {
    const bool closed = r.offset < active_base;
    const bool superseded = r.key && newest[*r.key] != r.offset;
    const bool expired = r.key && !r.value && r.timestamp < tombstone_deadline;
    if (!closed || !(superseded || expired)) out.push_back(r);
  }
  return out;
}

CompactionResult compact(SegmentLog& log, std::int64_t now_ms = 0,
                         std::chrono::milliseconds tombstone_retention = std::chrono::hours(24)) {
  std::mutex writer;
  CompactionOptions o;
  o.now_ms = now_ms;
  o.tombstone_retention = tombstone_retention;
  return log.compact(o, writer);
}

// Fills several segments with versions of keys k0..k<keys-1>.
std::vector<Rec> fill(SegmentLog& log, int batches, int keys, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<Rec> written;
  for (int b = 0; b < batches; ++b) {
    std::vector<Rec> batch;
    const int n = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < n; ++i) {
      const std::string key = "k" + std::to_string(random() % static_cast<std::uint64_t>(keys));
      batch.push_back(keyed(key, "v" + std::to_string(b) + "." + std::to_string(i), 1000 + b,
                            "b" + std::to_string(b)));
    }
    for (Rec& r : append(log, batch)) written.push_back(r);
  }
  return written;
}

std::size_t file_count(const std::string& dir, std::string_view suffix) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().ends_with(suffix)) ++n;
  }
  return n;
}

// True when `part` appears in `whole` in the same order.
bool is_subsequence(const std::vector<Rec>& part, const std::vector<Rec>& whole) {
  std::size_t i = 0;
  for (const Rec& r : whole) {
    if (i < part.size() && part[i] == r) ++i;
  }
  return i == part.size();
}

SegmentLogOptions synced_options() {
  SegmentLogOptions o = small_options();
  o.fsync_policy = FsyncPolicy::every_batch;
  return o;
}

// The same log every time, every batch synced, written through `fs`.
std::vector<Rec> build_synced(FileSystem& fs, const std::string& dir) {
  auto log = SegmentLog::open(dir, synced_options(), fs);
  (void)fill(*log, 100, 4, 71);
  return read_all(*log);
}

void quiet(const std::string&) {}

}  // namespace

TEST_CASE("log compaction: closed segments keep the newest record per key with its offset, timestamp and headers",
          "[log][compaction]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  const std::vector<Rec> written = fill(*log, 200, 7, rill::test::seed());
  const std::vector<std::int64_t> bases = log->segment_base_offsets();
  REQUIRE(bases.size() > 3);
  const std::int64_t end = log->end_offset();

  const CompactionResult result = compact(*log);
  CHECK(result.records_removed > 0);
  CHECK(result.bytes_after < result.bytes_before);
  CHECK(read_all(*log) == expected_after(written, bases.back()));
  // Offsets are kept: the end, the start and the first segment do not move.
  CHECK(log->end_offset() == end);
  CHECK(log->start_offset() == bases.front());
  CHECK(log->segment_base_offsets().front() == bases.front());
  CHECK(std::filesystem::exists(dir.file(std::string(kCompactedMarker))));

  // A second pass finds nothing more to drop.
  CHECK(compact(*log).records_removed == 0);
}

TEST_CASE("log compaction: a tombstone stays until its delay has passed, then it goes", "[log][compaction]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  std::vector<Rec> written;
  for (Rec& r : append(*log, {keyed("a", "a1", 5'000), keyed("b", "b1", 5'000)})) written.push_back(r);
  for (Rec& r : append(*log, {keyed("a", std::nullopt, 10'000), keyed("c", "c1", 10'000)})) written.push_back(r);
  for (Rec& r : fill(*log, 120, 3, 7)) written.push_back(r);  // keys k*: roll a few segments
  const std::int64_t active = log->segment_base_offsets().back();
  const std::vector<Rec> before = read_all(*log);

  // 20 s after the tombstone, with a delay of 60 s: it stays ("a1" goes).
  (void)compact(*log, 30'000, std::chrono::seconds(60));
  std::vector<Rec> now = read_all(*log);
  CHECK(now == expected_after(written, active));
  CHECK(std::find_if(now.begin(), now.end(), [](const Rec& r) { return r.key == Opt("a"); })->value == Opt());

  // 70 s after it: gone, and "a" has no record left.
  (void)compact(*log, 80'000, std::chrono::seconds(60));
  now = read_all(*log);
  CHECK(now == expected_after(written, active, 80'000 - 60'000));
  CHECK(std::none_of(now.begin(), now.end(), [](const Rec& r) { return r.key == Opt("a"); }));
  CHECK(std::any_of(now.begin(), now.end(), [](const Rec& r) { return r.key == Opt("b"); }));
  CHECK(before.size() > now.size());
}

TEST_CASE("log compaction: keyless records are all kept, between compacted keyed ones", "[log][compaction]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  std::vector<Rec> written;
  for (int b = 0; b < 150; ++b) {
    std::vector<Rec> batch = {keyed("same", "v" + std::to_string(b), 1000 + b),
                              Rec{-1, std::nullopt, "free" + std::to_string(b), 2000 + b, ""}};
    for (Rec& r : append(*log, batch)) written.push_back(r);
  }
  const std::int64_t active = log->segment_base_offsets().back();
  (void)compact(*log);
  const std::vector<Rec> now = read_all(*log);
  CHECK(now == expected_after(written, active));
  CHECK(std::count_if(now.begin(), now.end(), [](const Rec& r) { return !r.key; }) == 150);
}

TEST_CASE("log compaction: a reader holding a segment that is replaced keeps reading the old bytes",
          "[log][compaction]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  const std::vector<Rec> written = fill(*log, 150, 2, 11);
  const std::vector<std::int64_t> bases = log->segment_base_offsets();
  const ReadResult held = log->read(0, 1 << 20);
  REQUIRE(held.status == ReadStatus::ok);
  const std::vector<std::byte> copy(held.bytes.begin(), held.bytes.end());

  REQUIRE(compact(*log).segments_rewritten >= 1);
  // The held span still shows the original batches, byte for byte, each
  // with its checksum, holding every record written to the first segment.
  CHECK(std::equal(held.bytes.begin(), held.bytes.end(), copy.begin(), copy.end()));
  std::span<const std::byte> bytes = held.bytes;
  std::size_t records = 0;
  while (!bytes.empty()) {
    const auto batch = next_batch(bytes);
    REQUIRE(batch.valid());
    REQUIRE(rill::codec::parse_batch(batch.bytes().first(batch.size_bytes()), true).status ==
            rill::codec::DecodeStatus::ok);
    records += batch.record_count();
  }
  CHECK(records == static_cast<std::size_t>(std::count_if(
                       written.begin(), written.end(), [&](const Rec& r) { return r.offset < bases[1]; })));
  // A new read sees the compacted segment.
  CHECK(log->read(0, 1 << 20).segment != held.segment);
}

TEST_CASE("log compaction: segments left empty are deleted, except the first, reads skip the gaps",
          "[log][compaction]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  std::vector<Rec> written = fill(*log, 150, 1, 3);  // one key: everything closed is superseded
  for (Rec& r : append(*log, {keyed("k0", "last", 9'999)})) written.push_back(r);
  const std::vector<std::int64_t> bases = log->segment_base_offsets();
  REQUIRE(bases.size() > 3);

  const CompactionResult result = compact(*log);
  CHECK(result.segments_removed == bases.size() - 2);
  CHECK(result.segments_rewritten == 1);
  CHECK(log->segment_base_offsets() == std::vector<std::int64_t>{bases.front(), bases.back()});
  CHECK(log->start_offset() == bases.front());
  CHECK(file_count(dir.path(), ".log") == 2);
  CHECK(read_all(*log) == expected_after(written, bases.back()));
  // An offset inside the gap reads the next batch after it.
  const ReadResult r = log->read(bases.front() + 5, 1);
  REQUIRE(r.status == ReadStatus::ok);
  CHECK(rill::codec::read_base_offset(r.bytes) >= bases.back());
}

TEST_CASE("log compaction: a reopened log reads the same records, also after a crash left .cleaned files",
          "[log][compaction]") {
  TempDir dir;
  std::vector<Rec> after;
  std::int64_t end = 0;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    (void)fill(*log, 200, 5, 21);
    (void)compact(*log);
    after = read_all(*log);
    end = log->end_offset();
  }
  // What a pass cut short would leave: copies under .cleaned names, and
  // an index that no longer matches its log (renamed before the index).
  const std::string first = dir.file(segment_stem(0));
  std::filesystem::copy_file(first + ".log", first + ".log.cleaned");
  std::filesystem::copy_file(first + ".index", first + ".index.cleaned");
  {
    std::fstream index(first + ".index", std::ios::in | std::ios::out | std::ios::binary);
    const char junk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    index.write(junk, sizeof junk);
  }
  std::vector<std::string> lines;
  auto log = SegmentLog::open(dir.path(), small_options(), default_file_system(),
                                [&](const std::string& line) { lines.push_back(line); });
  CHECK(file_count(dir.path(), ".cleaned") == 0);
  CHECK(std::count_if(lines.begin(), lines.end(),
                      [](const std::string& l) { return l.find("interrupted compaction") != std::string::npos; }) == 2);
  CHECK(log->end_offset() == end);
  CHECK(read_all(*log) == after);
  // And it keeps working: appends, another pass, another reopen.
  (void)fill(*log, 50, 5, 22);
  (void)compact(*log);
  const std::vector<Rec> again = read_all(*log);
  log.reset();
  log = SegmentLog::open(dir.path(), small_options());
  CHECK(read_all(*log) == again);
}

TEST_CASE("log compaction: damage in the middle of a compacted log is still refused", "[log][compaction]") {
  TempDir dir;
  std::vector<std::int64_t> bases;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    (void)fill(*log, 200, 50, 31);
    (void)compact(*log);
    bases = log->segment_base_offsets();
  }
  REQUIRE(bases.size() > 3);
  const std::string victim = dir.file(segment_stem(bases[1]) + ".log");
  SECTION("a flipped byte in a record") {
    // The last batch of a closed segment is scanned at open (from its last
    // index entry): flip a byte in its body.
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::size_t end = bytes.size();
    while (end > 0 && bytes[end - 1] == 0) --end;
    REQUIRE(end > 80);
    f.seekp(static_cast<std::streamoff>(end - 3));
    f.put(static_cast<char>(bytes[end - 3] ^ 0x40));
  }
  SECTION("a base offset below the previous batch's end") {
    // Offsets may skip forward in a compacted segment, never go back:
    // rewrite the base offset of its second batch to the segment's base.
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::uint32_t length = 0;
    std::memcpy(&length, bytes.data() + 16, 4);
    const std::size_t second = (length + 7) / 8 * 8;
    REQUIRE(bytes[second + 20] == static_cast<char>(rill::codec::kBatchMagic));
    std::int64_t base = bases[1];
    f.seekp(static_cast<std::streamoff>(second));
    f.write(reinterpret_cast<const char*>(&base), sizeof base);
    // Drop the indexes so that the scan starts at byte 0.
    std::filesystem::remove(dir.file(segment_stem(bases[1]) + ".index"));
  }
  try {
    (void)SegmentLog::open(dir.path(), small_options());
    FAIL("damage was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::corrupt);
  }
}

TEST_CASE("log compaction: without the compacted marker a gap between segments is still damage",
          "[log][compaction]") {
  TempDir dir;
  std::vector<std::int64_t> bases;
  {
    auto log = SegmentLog::open(dir.path(), small_options());
    (void)fill(*log, 200, 5, 41);
    (void)compact(*log);
    bases = log->segment_base_offsets();
  }
  REQUIRE(bases.size() >= 2);
  REQUIRE(bases[0] == 0);
  std::filesystem::remove(dir.file(std::string(kCompactedMarker)));
  try {
    (void)SegmentLog::open(dir.path(), small_options());
    FAIL("a gap was accepted without the marker");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::corrupt);
  }
}

TEST_CASE("log compaction: retention still deletes whole segments of a compacted log", "[log][compaction]") {
  TempDir dir;
  SegmentLogOptions options = small_options();
  options.retention_bytes = 3 * 4096;
  auto log = SegmentLog::open(dir.path(), options);
  const std::vector<Rec> written = fill(*log, 300, 400, 51);  // mostly distinct keys: segments stay full
  const std::int64_t active = log->segment_base_offsets().back();
  (void)compact(*log);
  (void)log->enforce_retention(0);
  const std::int64_t start = log->start_offset();
  CHECK(start > 0);
  std::vector<Rec> expected;
  for (const Rec& r : expected_after(written, active)) {
    if (r.offset >= start) expected.push_back(r);
  }
  CHECK(read_all(*log) == expected);
  log.reset();
  log = SegmentLog::open(dir.path(), options);
  CHECK(log->start_offset() == start);
  CHECK(read_all(*log) == expected);
}

TEST_CASE("log compaction: a raised stop flag ends the pass with the log intact", "[log][compaction]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  const std::vector<Rec> written = fill(*log, 200, 3, 61);
  const std::vector<Rec> before = read_all(*log);
  std::atomic<bool> stop{true};
  std::mutex writer;
  CompactionOptions o;
  o.stop = &stop;
  const CompactionResult result = log->compact(o, writer);
  CHECK(result.stopped);
  CHECK(result.segments_rewritten == 0);
  CHECK(read_all(*log) == before);
}

TEST_CASE("log compaction: a writer and a reader keep going while passes run", "[log][compaction][stress]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), small_options());
  std::mutex writer;
  std::atomic<bool> done{false};
  const int batches = 600 * rill::test::scale();
  std::vector<Rec> written;
  std::thread producer([&] {
    for (int b = 0; b < batches; ++b) {
      const std::string key = "k" + std::to_string(b % 5);
      for (Rec& r : append(*log, {keyed(key, "v" + std::to_string(b), 1000 + b)}, &writer)) written.push_back(r);
      if (b % 50 == 0) {
        std::lock_guard<std::mutex> lock(writer);
        (void)log->enforce_retention(0);
      }
    }
    done = true;
  });
  std::atomic<bool> reader_ok{true};
  std::thread reader([&] {
    while (!done && reader_ok) {
      // Offsets read go strictly up, whatever is compacted under us.
      std::int64_t previous = -1;
      std::int64_t next = log->start_offset();
      const std::int64_t end = log->end_offset();
      // No Catch assertion on this thread: failures are collected.
      while (next < end && reader_ok) {
        const ReadResult r = log->read(next, 512);
        if (r.status != ReadStatus::ok) reader_ok = false;
        std::span<const std::byte> bytes = r.bytes;
        while (!bytes.empty()) {
          const auto batch = next_batch(bytes);
          if (!batch.valid()) {
            reader_ok = false;
            break;
          }
          rill::codec::RecordReader records(batch);
          rill::codec::DecodedRecord d;
          while (records.next(d) == rill::codec::DecodeStatus::ok) {
            if (d.offset < next) continue;
            if (d.offset <= previous) reader_ok = false;
            previous = d.offset;
          }
          next = std::max(next, batch.next_offset());
        }
      }
    }
  });
  CompactionOptions o;
  while (!done) (void)log->compact(o, writer);
  producer.join();
  reader.join();
  CHECK(reader_ok);
  (void)log->compact(o, writer);
  CHECK(read_all(*log) == expected_after(written, log->segment_base_offsets().back()));
}

TEST_CASE("log compaction: a power cut at any call of a pass leaves each segment old or compacted",
          "[log][compaction][crash]") {
  using FaultFs = FaultInjectingFileSystem;
  std::uint64_t pass_calls = 0;
  std::vector<Rec> before, after;
  {
    TempDir dir;
    PosixFileSystem posix;
    FaultFs fs(posix);
    fs.skip_real_syncs(true);  // power losses are simulated
    before = build_synced(fs, dir.path());
    auto log = SegmentLog::open(dir.path(), synced_options(), fs, quiet);
    const std::uint64_t start = fs.calls();
    REQUIRE(compact(*log).segments_removed > 0);
    pass_calls = fs.calls() - start;
    after = read_all(*log);
  }
  REQUIRE(after.size() < before.size());
  for (std::uint64_t n = 1; n <= pass_calls; ++n) {
    INFO("power cut at call " << n << " of " << pass_calls);
    TempDir dir;
    PosixFileSystem posix;
    FaultFs fs(posix);
    fs.skip_real_syncs(true);
    (void)build_synced(fs, dir.path());
    {
      auto log = SegmentLog::open(dir.path(), synced_options(), fs, quiet);
      fs.cut_power_after(n);
      try {
        (void)compact(*log);
      } catch (const Error&) {
        // The cut: every call from the n-th on fails.
      }
    }
    fs.power_loss({FaultFs::Unsynced::mixed, 512, n});
    auto log = SegmentLog::open(dir.path(), synced_options(), fs, quiet);
    const std::vector<Rec> got = read_all(*log);
    // Never a record invented or reordered, never a kept one lost.
    CHECK(is_subsequence(got, before));
    CHECK(is_subsequence(after, got));
    CHECK(file_count(dir.path(), ".cleaned") == 0);
  }
}
