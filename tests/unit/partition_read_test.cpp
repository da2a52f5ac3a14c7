// Partition::read by offset into a ReadLease, and RecordCursor over it:
// memory partitions under each FullPolicy (in place with a gate, copied
// without), durable partitions (losses to retention, damage, a lease that
// outlives its segment), and the cursor's mid-batch start, compaction gaps
// and damaged records.
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "codec/batch_format.hpp"
#include "log/segment_format.hpp"
#include "storage/durable_partition.hpp"
#include "storage/memory_partition.hpp"
#include "storage/record_cursor.hpp"

namespace {

using rill::FullPolicy;
using rill::storage::AppendStatus;
using rill::storage::DurablePartition;
using rill::storage::MemoryPartition;
using rill::storage::Partition;
using rill::storage::ReadLease;
using rill::storage::ReadOptions;
using rill::storage::ReadStatus;
using rill::storage::RecordCursor;
using rill::test::make_batch;
using Records = std::vector<std::pair<std::int64_t, std::string>>;
using namespace std::chrono_literals;

constexpr std::size_t kAll = std::size_t{1} << 20;

// Appends a batch of `count` records valued "<tag>/<i>"; returns its base offset.
std::int64_t append(Partition& partition, int count, const std::string& tag) {
  std::vector<std::byte> batch = make_batch(count, 1000, tag);
  const auto r = partition.append(batch, false, rill::detail::WaitClock::now());
  REQUIRE(r.status == AppendStatus::ok);
  return r.base_offset;
}

// The records a cursor yields from `lease` (stops at damage).
Records records(const ReadLease& lease) {
  Records out;
  RecordCursor cursor(lease);
  rill::codec::DecodedRecord d;
  while (cursor.next(d)) out.emplace_back(d.offset, std::string(*d.value));
  return out;
}

// Reads on from `offset` to the end, `max_bytes` at a time, through one lease.
Records read_all(Partition& partition, std::int64_t offset, std::size_t max_bytes, const ReadOptions& options = {}) {
  Records out;
  ReadLease lease;
  while (partition.read(offset, max_bytes, lease, options) == ReadStatus::ok) {
    RecordCursor cursor(lease);
    rill::codec::DecodedRecord d;
    while (cursor.next(d)) out.emplace_back(d.offset, std::string(*d.value));
    REQUIRE(cursor.next_offset() > offset);
    offset = cursor.next_offset();
  }
  return out;
}

Records expected(std::int64_t from, std::int64_t to, int per_batch, const std::string& tag) {
  Records out;
  for (std::int64_t o = from; o < to; ++o) out.emplace_back(o, tag + "/" + std::to_string(o % per_batch));
  return out;
}

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-partition-read") {}
};

rill::log::SegmentLogOptions log_options(std::uint64_t retention_bytes = 0) {
  rill::log::SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.retention_bytes = retention_bytes;
  return o;
}

rill::TopicOptions durable_options(std::uint64_t retention_bytes = 0) {
  return {.storage = rill::StorageKind::durable, .segment_bytes = 4096, .retention_bytes = retention_bytes};
}

}  // namespace

TEST_CASE("memory read: whole batches by offset under each full policy, in place with a gate or copied", "[storage][read]") {
  const FullPolicy policy = GENERATE(FullPolicy::block, FullPolicy::fail, FullPolicy::overwrite);
  const bool gated = GENERATE(false, true);
  MemoryPartition p(64 * 1024, policy, nullptr);
  for (int b = 0; b < 3; ++b) CHECK(append(p, 4, "m") == 4 * b);
  rill::storage::GateRef gate = p.open_gate("g", 0);
  ReadOptions options;
  if (gated) options.gate = &gate;
  ReadLease lease;

  REQUIRE(p.read(0, kAll, lease, options) == ReadStatus::ok);
  CHECK(lease.batches().size() == 3);
  CHECK(lease.from_offset() == 0);
  CHECK(lease.next_offset() == 12);
  CHECK(lease.lost() == 0);
  CHECK(records(lease) == expected(0, 12, 4, "m"));

  // From the middle of a batch: the whole batch, the cursor skips below 5.
  REQUIRE(p.read(5, kAll, lease, options) == ReadStatus::ok);
  CHECK(lease.batches().front().base_offset() == 4);
  CHECK(records(lease) == expected(5, 12, 4, "m"));

  // At least one batch however small max_bytes is; reading on goes on.
  REQUIRE(p.read(0, 1, lease, options) == ReadStatus::ok);
  CHECK(lease.batches().size() == 1);
  CHECK(lease.next_offset() == 4);
  CHECK(read_all(p, 0, 1, options) == expected(0, 12, 4, "m"));

  // At the end: nothing, and the lease says where it stands.
  CHECK(p.read(12, kAll, lease, options) == ReadStatus::empty);
  CHECK(lease.from_offset() == 12);
  CHECK(lease.next_offset() == 12);
  CHECK(lease.empty());
  CHECK(append(p, 2, "n") == 12);
  REQUIRE(p.read(12, kAll, lease, options) == ReadStatus::ok);  // the hint left at the end reads on
  CHECK(records(lease) == Records{{12, "n/0"}, {13, "n/1"}});

  const rill::storage::Positions at = p.positions();
  CHECK(at.log_start == 0);
  CHECK(at.log_end == 14);
  CHECK(at.durable_end == 0);  // nothing in memory is durable
  CHECK(at.high_watermark == 14);
}

TEST_CASE("memory read: records dropped before they were read are reported lost, exactly", "[storage][read]") {
  // Nothing holds the records back: overwrite drops the oldest, and so do
  // block and fail when no gate or reader is open.
  const FullPolicy policy = GENERATE(FullPolicy::block, FullPolicy::fail, FullPolicy::overwrite);
  MemoryPartition p(4096, policy, nullptr);
  for (int b = 0; b < 40; ++b) (void)append(p, 5, "w");
  const rill::storage::Positions at = p.positions();
  REQUIRE(at.log_start > 0);
  ReadLease lease;
  REQUIRE(p.read(3, kAll, lease, {}) == ReadStatus::ok);
  CHECK(lease.lost_from() == 3);
  CHECK(lease.lost() == at.log_start - 3);
  CHECK(lease.from_offset() == at.log_start);
  CHECK(records(lease).front() == std::pair<std::int64_t, std::string>{at.log_start, "w/0"});
  CHECK(read_all(p, at.log_start, 100) == expected(at.log_start, 200, 5, "w"));
}

TEST_CASE("memory read: an overwrite reader racing the appender loses nothing in silence", "[storage][read][tsan]") {
  MemoryPartition p(8192, FullPolicy::overwrite, nullptr);
  constexpr int kBatches = 2000;
  std::vector<std::vector<std::byte>> batches(kBatches, make_batch(3, 1000, "r"));  // Catch is not thread-safe
  std::thread producer([&] {
    for (std::vector<std::byte>& batch : batches) (void)p.append(batch, false, rill::detail::WaitClock::now());
  });
  std::int64_t offset = 0;
  std::int64_t seen = 0;
  std::int64_t lost = 0;
  bool in_order = true;
  ReadLease lease;
  while (offset < 3 * kBatches) {
    if (p.read(offset, 512, lease, {}) != ReadStatus::ok) continue;
    lost += lease.lost();
    RecordCursor cursor(lease);
    rill::codec::DecodedRecord d;
    std::int64_t expect = lease.from_offset();
    while (cursor.next(d)) {
      in_order = in_order && d.offset == expect && *d.value == "r/" + std::to_string(d.offset % 3);
      ++expect;
      ++seen;
    }
    offset = cursor.next_offset();
  }
  producer.join();
  CHECK(in_order);
  CHECK(seen + lost == 3 * kBatches);
}

TEST_CASE("memory read: a reader without a gate copies and validates while a producer appends", "[storage][read][tsan]") {
  MemoryPartition p(1 << 20, FullPolicy::block, nullptr);
  constexpr int kBatches = 1000;
  std::vector<std::vector<std::byte>> batches(kBatches, make_batch(2, 1000, "c"));  // Catch is not thread-safe
  std::thread producer([&] {
    for (std::vector<std::byte>& batch : batches) (void)p.append(batch, true, rill::detail::deadline_after(30s));
  });
  Records got;
  std::int64_t offset = 0;
  ReadLease lease;
  while (offset < 2 * kBatches) {
    if (p.read(offset, 256, lease, {}) != ReadStatus::ok) continue;
    RecordCursor cursor(lease);
    rill::codec::DecodedRecord d;
    while (cursor.next(d)) got.emplace_back(d.offset, std::string(*d.value));
    offset = cursor.next_offset();
  }
  producer.join();
  CHECK(got == expected(0, 2 * kBatches, 2, "c"));
}

TEST_CASE("durable read: batches by offset, from the middle of a batch, in chunks, and positions", "[storage][read][durable]") {
  TempDir dir;
  rill::detail::BlockingWait signal;
  DurablePartition p(rill::log::SegmentLog::open(dir.path() + "/t-0", log_options()), durable_options(), "t-0",
                     &signal);
  for (int b = 0; b < 30; ++b) CHECK(append(p, 5, "d") == 5 * b);  // several 4 KiB segments
  ReadLease lease;
  REQUIRE(p.read(7, kAll, lease, {}) == ReadStatus::ok);
  CHECK(lease.batches().front().base_offset() == 5);
  CHECK(lease.from_offset() == 7);
  CHECK(records(lease).front() == std::pair<std::int64_t, std::string>{7, "d/2"});
  CHECK(read_all(p, 7, 1) == expected(7, 150, 5, "d"));
  CHECK(read_all(p, 0, kAll, ReadOptions{.check_crcs = false}) == expected(0, 150, 5, "d"));
  CHECK(p.read(150, kAll, lease, {}) == ReadStatus::empty);
  CHECK(lease.next_offset() == 150);
  const rill::storage::Positions at = p.positions();
  CHECK(at.log_start == 0);
  CHECK(at.log_end == 150);
  CHECK(at.high_watermark == 150);
  CHECK(at.durable_end <= at.log_end);
  p.sync();
  CHECK(p.positions().durable_end == 150);
}

TEST_CASE("durable read: a lease outlives the retention of its segment, and the next read reports the loss", "[storage][read][durable]") {
  TempDir dir;
  rill::detail::BlockingWait signal;
  DurablePartition p(rill::log::SegmentLog::open(dir.path() + "/t-0", log_options(8192)), durable_options(8192),
                     "t-0", &signal);
  for (int b = 0; b < 10; ++b) (void)append(p, 5, "a");
  ReadLease lease;
  REQUIRE(p.read(0, kAll, lease, {}) == ReadStatus::ok);
  const Records before = records(lease);
  REQUIRE(before.front().first == 0);
  // Enough appended bytes make the append path enforce retention, which
  // deletes the segment the lease reads from.
  for (int b = 0; b < 200 && p.positions().log_start == 0; ++b) (void)append(p, 5, "a");
  const std::int64_t start = p.positions().log_start;
  REQUIRE(start > before.back().first);
  CHECK(records(lease) == before);  // the mapping is still there (ASan would see it otherwise)
  for (const rill::codec::BatchView& batch : lease.batches()) {
    CHECK(rill::codec::compute_checksum(batch.bytes()) == batch.checksum());
  }
  ReadLease later;
  REQUIRE(p.read(lease.next_offset(), kAll, later, {}) == ReadStatus::ok);
  CHECK(later.lost_from() == lease.next_offset());
  CHECK(later.lost() == start - lease.next_offset());
  CHECK(later.from_offset() == start);
}

TEST_CASE("durable read: damaged storage stops the read in front of it, naming file, byte and reason", "[storage][read][durable]") {
  TempDir dir;
  rill::detail::BlockingWait signal;
  const std::string folder = dir.path() + "/t-0";
  DurablePartition p(rill::log::SegmentLog::open(folder, log_options()), durable_options(), "t-0", &signal);
  (void)append(p, 3, "first");
  (void)append(p, 3, "second");
  (void)append(p, 3, "third");
  // Damage a value byte of the second batch, in the file under the mapping.
  const std::string file = folder + "/" + rill::log::segment_stem(0) + std::string(rill::log::kLogSuffix);
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::size_t at = bytes.find("second/1");
  REQUIRE(at != std::string::npos);
  rill::test::flip_bit(file, at, 0x01);

  ReadLease lease;
  // The batch before the damage is read; the read ends in front of it.
  REQUIRE(p.read(0, kAll, lease, {}) == ReadStatus::ok);
  CHECK(lease.next_offset() == 3);
  CHECK(records(lease) == expected(0, 3, 3, "first"));
  CHECK(p.read(3, kAll, lease, {}) == ReadStatus::damaged);
  CHECK(lease.empty());
  CHECK(lease.from_offset() == 3);
  CHECK_THAT(lease.damage(), Catch::Contains(rill::log::segment_stem(0)) && Catch::Contains("byte") &&
                                 Catch::Contains("offset 3"));
  // Without the checksum check the batch's records decode (the flip is inside a value).
  REQUIRE(p.read(3, kAll, lease, ReadOptions{.check_crcs = false}) == ReadStatus::ok);
  CHECK(lease.damage().empty());
}

TEST_CASE("record cursor: starts mid-batch, steps over a compaction gap, stops at a damaged record", "[storage][read][codec]") {
  std::vector<std::byte> first = make_batch(3, 1000, "x");   // offsets 0..2 ...
  rill::codec::set_base_offset(first, 0);
  // ... as compaction leaves it: the batch still ends at offset 5.
  const std::int32_t delta = 5;
  std::memcpy(first.data() + offsetof(rill::codec::BatchHeader, last_offset_delta), &delta, sizeof delta);
  std::vector<std::byte> second = make_batch(4, 1000, "y");
  rill::codec::set_base_offset(second, 6);
  const rill::codec::BatchView first_view = rill::codec::BatchView::trusted(first);
  std::vector<rill::codec::BatchView> batches{first_view, rill::codec::BatchView::trusted(second)};

  RecordCursor cursor(batches, 1);
  rill::codec::DecodedRecord d;
  Records got;
  while (cursor.next(d)) got.emplace_back(d.offset, std::string(*d.value));
  CHECK(got == Records{{1, "x/1"}, {2, "x/2"}, {6, "y/0"}, {7, "y/1"}, {8, "y/2"}, {9, "y/3"}});
  CHECK(cursor.next_offset() == 10);
  CHECK_FALSE(cursor.damaged());

  // Only the first batch, read to its end: the next read is after the gap.
  RecordCursor gap{std::span<const rill::codec::BatchView>(batches).first(1), 0};
  while (gap.next(d)) {
  }
  CHECK(gap.next_offset() == 6);

  // The last record of the second batch cut short: the ones before it come
  // first, then the cursor stops in front of the damage and says where.
  batches[1] = rill::codec::BatchView::trusted(std::span<const std::byte>(second).first(second.size() - 2));
  RecordCursor damaged(batches, 0);
  got.clear();
  while (damaged.next(d)) got.emplace_back(d.offset, std::string(*d.value));
  CHECK(got.back() == std::pair<std::int64_t, std::string>{8, "y/2"});
  CHECK(damaged.damaged());
  CHECK(damaged.next_offset() == 9);
  CHECK(damaged.damaged_batch().base_offset() == 6);
  CHECK(std::string(damaged.error().reason).size() > 0);
  CHECK_FALSE(damaged.next(d));
  CHECK(damaged.batch() == nullptr);
}
