// Producer-state snapshots at their edges: every field check of the decoder
// (on bytes whose checksum is right, so that the field check itself must
// catch them), the snapshot file names, the listing and the leftovers, and
// the sequence check's refusal of malformed idempotent batches.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "log/file_system.hpp"
#include "log/producer_snapshot.hpp"
#include "log/producer_state.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;
using rill::ErrorCode;
using Bytes = std::vector<std::byte>;

// Byte positions in a snapshot (producer_snapshot.hpp).
constexpr std::size_t kVersionAt = 4, kReservedAt = 6, kCountAt = 16, kReserved2At = 20;
constexpr std::size_t kEntryAt = kSnapshotHeaderSize;
constexpr std::size_t kIdAt = 0, kEpochAt = 8, kRecentCountAt = 10, kEntryReservedAt = 11,
                      kLastSequenceAt = 12, kRecentAt = 16;

template <typename T>
void put(Bytes& bytes, std::size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

// Recomputes the trailer so that only the field checks can refuse the bytes.
void reseal(Bytes& bytes) {
  const std::size_t body = bytes.size() - kSnapshotTrailerSize;
  put(bytes, body, static_cast<std::uint64_t>(XXH3_64bits(bytes.data(), body)));
}

// Two producers: 5 has two recent batches, 9 has one.
Bytes two_producers(std::int64_t offset) {
  ProducerStateTable table;
  table.record({5, 1, 0}, 3, 100);
  table.record({5, 1, 3}, 2, 103);
  table.record({9, 0, 7}, 1, 200);
  return table.encode(offset);
}

std::string why_refused(const Bytes& bytes, std::int64_t offset = 500) {
  std::string why;
  const auto decoded = ProducerStateTable::decode(bytes, offset, why);
  CHECK_FALSE(decoded);
  return why;
}

}  // namespace

TEST_CASE("producer snapshot: a resealed header with a bad field is refused, each for its reason",
          "[log][idempotence]") {
  const Bytes good = two_producers(500);
  std::string why;
  REQUIRE(ProducerStateTable::decode(good, 500, why));

  Bytes bytes = good;
  put<std::uint32_t>(bytes, 0, kSnapshotMagic + 1);
  reseal(bytes);
  CHECK(why_refused(bytes) == "bad magic");

  bytes = good;
  put<std::uint16_t>(bytes, kVersionAt, kSnapshotVersion + 1);
  reseal(bytes);
  CHECK(why_refused(bytes) == "unknown version");

  bytes = good;
  put<std::uint16_t>(bytes, kReservedAt, 1);
  reseal(bytes);
  CHECK(why_refused(bytes) == "reserved bytes not zero");

  bytes = good;
  put<std::uint32_t>(bytes, kReserved2At, 1);
  reseal(bytes);
  CHECK(why_refused(bytes) == "reserved bytes not zero");

  bytes = good;
  put<std::uint32_t>(bytes, kCountAt, 3);
  reseal(bytes);
  CHECK(why_refused(bytes) == "length disagrees with the count");

  bytes = good;
  bytes[bytes.size() - 1] ^= std::byte{1};
  CHECK(why_refused(bytes) == "checksum mismatch");
  CHECK(why_refused(Bytes(good.begin(), good.begin() + 31)) == "shorter than a header");
}

TEST_CASE("producer snapshot: a resealed entry with a field out of range is refused", "[log][idempotence]") {
  const Bytes good = two_producers(500);
  const std::size_t second = kEntryAt + kSnapshotEntrySize;
  const struct {
    const char* what;
    std::size_t entry;
    std::function<void(Bytes&, std::size_t)> damage;
  } cases[] = {
      {"negative producer id", kEntryAt, [](Bytes& b, std::size_t e) { put<std::int64_t>(b, e + kIdAt, -1); }},
      {"negative epoch", kEntryAt, [](Bytes& b, std::size_t e) { put<std::int16_t>(b, e + kEpochAt, -2); }},
      {"negative last sequence", kEntryAt,
       [](Bytes& b, std::size_t e) { put<std::int32_t>(b, e + kLastSequenceAt, -1); }},
      {"no recent batch", kEntryAt, [](Bytes& b, std::size_t e) { put<std::uint8_t>(b, e + kRecentCountAt, 0); }},
      {"more recent batches than kept", kEntryAt,
       [](Bytes& b, std::size_t e) { put<std::uint8_t>(b, e + kRecentCountAt, kRecentBatches + 1); }},
      {"reserved byte set", kEntryAt,
       [](Bytes& b, std::size_t e) { put<std::uint8_t>(b, e + kEntryReservedAt, 1); }},
      {"negative first sequence of a recent batch", kEntryAt,
       [](Bytes& b, std::size_t e) { put<std::int32_t>(b, e + kRecentAt + 16, -1); }},
      {"negative last sequence of a recent batch", kEntryAt,
       [](Bytes& b, std::size_t e) { put<std::int32_t>(b, e + kRecentAt + 4, -1); }},
      {"negative base offset of a recent batch", kEntryAt,
       [](Bytes& b, std::size_t e) { put<std::int64_t>(b, e + kRecentAt + 8, -1); }},
      {"last sequence differing from the newest batch's", kEntryAt,
       [](Bytes& b, std::size_t e) { put<std::int32_t>(b, e + kLastSequenceAt, 3); }},
      {"ids not increasing", second, [](Bytes& b, std::size_t e) { put<std::int64_t>(b, e + kIdAt, 5); }},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Bytes bytes = good;
    c.damage(bytes, c.entry);
    reseal(bytes);
    const std::string expected = c.entry == kEntryAt ? "entry 0 is out of range" : "entry 1 is out of range";
    CHECK(why_refused(bytes) == expected);
  }
}

TEST_CASE("producer snapshot: an empty table round-trips", "[log][idempotence]") {
  const Bytes bytes = ProducerStateTable().encode(0);
  CHECK(bytes.size() == kSnapshotHeaderSize + kSnapshotTrailerSize);
  std::string why;
  const auto decoded = ProducerStateTable::decode(bytes, 0, why);
  REQUIRE(decoded);
  CHECK(decoded->find(5) == nullptr);
  CHECK(decoded->next_sequence(5) == 0);
}

TEST_CASE("producer snapshot: only 20-digit names with the suffix are snapshots", "[log][idempotence]") {
  CHECK(parse_snapshot_name("00000000000000000042.snapshot") == 42);
  CHECK(parse_snapshot_name("09223372036854775807.snapshot") == std::numeric_limits<std::int64_t>::max());
  CHECK_FALSE(parse_snapshot_name("09223372036854775808.snapshot"));  // past int64
  CHECK_FALSE(parse_snapshot_name("99999999999999999999.snapshot"));
  CHECK_FALSE(parse_snapshot_name("0000000000000000004x.snapshot"));
  CHECK_FALSE(parse_snapshot_name("-0000000000000000042.snapshot"));
  CHECK_FALSE(parse_snapshot_name("0000000000000000042.snapshot"));
  CHECK_FALSE(parse_snapshot_name("00000000000000000042.snapshox"));
  CHECK_FALSE(parse_snapshot_name("00000000000000000042.snapshot.tmp"));
  CHECK_FALSE(parse_snapshot_name(""));
}

TEST_CASE("producer snapshot: listing skips other names, and leftovers of a crashed write go", "[log][idempotence]") {
  rill::test::TempDir dir("rill-producer-snapshot-edges");
  FileSystem& fs = default_file_system();
  ProducerStateTable table;
  table.record({5, 0, 0}, 1, 0);
  write_snapshot(fs, dir.path(), 30, table, false);
  write_snapshot(fs, dir.path(), 4, table, true);
  for (const std::string name : {"00000000000000000009.snapshot.tmp", "00000000000000000004.log", "snapshot"}) {
    File f = fs.open(join_path(dir.path(), name), OpenMode::create_new);
    fs.close(f);
  }
  CHECK(list_snapshots(fs, dir.path()) == std::vector<std::int64_t>{4, 30});
  CHECK(snapshot_path(dir.path(), 4) == dir.file("00000000000000000004.snapshot"));
  remove_snapshot_leftovers(fs, dir.path());
  CHECK(dir.names() == std::vector<std::string>{"00000000000000000004.log", "00000000000000000004.snapshot",
                                                "00000000000000000030.snapshot", "snapshot"});
  std::string why;
  const auto read = ProducerStateTable::decode(fs.read_file(snapshot_path(dir.path(), 30)), 30, why);
  REQUIRE(read);
  CHECK(read->next_sequence(5) == 1);
}

TEST_CASE("producer state: an idempotent batch needs an epoch, a sequence and a record", "[log][idempotence]") {
  ProducerStateTable table;
  CHECK(rill::test::error_of([&] { (void)table.check({5, -1, 0}, 1, "p"); }) == ErrorCode::invalid_argument);
  CHECK(rill::test::error_of([&] { (void)table.check({5, 0, -1}, 1, "p"); }) == ErrorCode::invalid_argument);
  CHECK(rill::test::error_of([&] { (void)table.check({5, 0, 0}, 0, "p"); }) == ErrorCode::invalid_argument);
  // Batches without a producer id are not checked, and none of these is recorded.
  CHECK(table.check({-1, -1, -1}, 1, "p").verdict == SequenceVerdict::append);
  table.record({-1, -1, -1}, 1, 0);
  table.record({5, 0, -1}, 1, 0);
  table.record({5, 0, 0}, 0, 0);
  CHECK(table.find(5) == nullptr);
  CHECK(table.encode(0).size() == kSnapshotHeaderSize + kSnapshotTrailerSize);
}
