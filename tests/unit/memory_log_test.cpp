// The memory partition log: offsets, wrap, reading at an offset, gates, and
// the three full policies.
#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "codec/batch_builder.hpp"
#include "test_util.hpp"
#include "storage/memory_partition.hpp"
#include "storage/record_cursor.hpp"

namespace {

using rill::FullPolicy;
using rill::storage::AppendStatus;
using rill::storage::GateRef;
using rill::storage::MemoryPartition;
using rill::storage::Partition;
using rill::storage::ReadLease;
using namespace std::chrono_literals;

constexpr std::size_t kCapacity = 64 * 1024;

// Builds one batch of `count` records whose values are `value_bytes` long.
class BatchMaker {
 public:
  std::span<std::byte> make(int count, std::size_t value_bytes = 16) {
    builder_.reset();
    value_.assign(value_bytes, 'v');
    for (int i = 0; i < count; ++i) {
      const rill::Record r{.key = std::nullopt, .value = value_};
      if (!builder_.try_append(r, 1000 + i)) return {};  // too big for the builder: append fails
    }
    return builder_.finish();
  }

 private:
  rill::codec::BatchBuilder builder_{32 * 1024};
  std::string value_;
};

rill::detail::Deadline in(std::chrono::milliseconds d) { return rill::detail::deadline_after(d); }

std::int64_t append(MemoryPartition& log, std::span<std::byte> batch) {
  const auto r = log.append(batch, false, in(0ms));
  REQUIRE(r.status == AppendStatus::ok);
  return r.base_offset;
}

// A reader as a consumer is one: the offset it reads next, the lease of its
// last read, and the gate that keeps its records (block and fail).
struct Reader {
  std::int64_t next = 0;
  GateRef gate;
  ReadLease lease;
};

// A reader holding gate `name` at `offset` (clamped to the window, or
// Partition::kEarliest / kLatest), reading from where the gate landed.
Reader gated_reader(Partition& log, std::string_view name, std::int64_t offset) {
  Reader reader;
  reader.gate = log.open_gate(name, offset);
  reader.next = reader.gate.offset();
  return reader;
}

// A seek: moves the reader's gate to `offset`, clamped to the retained
// window; the reader reads on from where it landed, which is returned.
std::int64_t seek(Reader& reader, std::int64_t offset) {
  reader.next = reader.gate.move_back(offset);
  return reader.next;
}

// True when a record past the reader's next offset may be read.
bool has_data(const MemoryPartition& log, const Reader& reader) { return log.end_offset() > reader.next; }

// Moves the reader's gate up to what it read before (the records it is done
// with), then reads every available batch in one read: their base offsets
// (checking each checksum and decoding each record); the losses the read
// reports are added to *lost_total.
std::vector<std::int64_t> read_bases(MemoryPartition& log, Reader& reader, std::int64_t* lost_total = nullptr) {
  if (reader.gate) reader.gate.advance(reader.next);
  rill::storage::ReadOptions options;
  options.gate = &reader.gate;
  (void)log.read(reader.next, log.capacity(), reader.lease, options);
  if (lost_total != nullptr) *lost_total += reader.lease.lost();
  std::vector<std::int64_t> bases;
  for (const rill::codec::BatchView& batch : reader.lease.batches()) {
    CHECK(rill::codec::compute_checksum(batch.bytes()) == batch.checksum());
    bases.push_back(batch.base_offset());
  }
  rill::storage::RecordCursor cursor(reader.lease);
  rill::codec::DecodedRecord record;
  while (cursor.next(record)) {
  }
  CHECK_FALSE(cursor.damaged());
  reader.next = cursor.next_offset();
  return bases;
}

// Reads until a read finds nothing (an overwrite read copies at most half
// the ring).
std::vector<std::int64_t> read_all(MemoryPartition& log, Reader& reader, std::int64_t* lost_total = nullptr) {
  std::vector<std::int64_t> all;
  for (;;) {
    const auto bases = read_bases(log, reader, lost_total);
    if (bases.empty()) return all;
    all.insert(all.end(), bases.begin(), bases.end());
  }
}

}  // namespace

TEST_CASE("memory log: appended batches get dense offsets from zero", "[topic][memory_log]") {
  MemoryPartition log(kCapacity, FullPolicy::block, nullptr);
  BatchMaker maker;
  Reader reader = gated_reader(log, "r", Partition::kEarliest);
  CHECK(append(log, maker.make(2)) == 0);
  CHECK(append(log, maker.make(3)) == 2);
  CHECK(append(log, maker.make(1)) == 5);
  CHECK(log.end_offset() == 6);
  CHECK(read_bases(log, reader) == std::vector<std::int64_t>{0, 2, 5});
  CHECK(reader.next == 6);
  CHECK(read_bases(log, reader).empty());
  const auto info = log.info();
  CHECK(info.start_offset == 0);
  CHECK(info.end_offset == 6);
}

TEST_CASE("memory log: a reader opened at the end sees only later batches", "[topic][memory_log]") {
  MemoryPartition log(kCapacity, FullPolicy::block, nullptr);
  BatchMaker maker;
  (void)append(log, maker.make(4));
  Reader reader = gated_reader(log, "r", Partition::kLatest);
  CHECK(reader.next == 4);
  CHECK_FALSE(has_data(log, reader));
  (void)append(log, maker.make(1));
  CHECK(has_data(log, reader));
  CHECK(read_bases(log, reader) == std::vector<std::int64_t>{4});
}

TEST_CASE("memory log: frames wrap with padding and stay intact", "[topic][memory_log]") {
  MemoryPartition log(kCapacity, FullPolicy::block, nullptr);
  BatchMaker maker;
  Reader reader = gated_reader(log, "r", Partition::kEarliest);
  std::int64_t expected = 0;
  // 7000-byte batches do not divide the ring: each lap ends in a padding frame.
  for (int i = 0; i < 40; ++i) {
    const std::int64_t base = append(log, maker.make(3, 7000 / 3));
    CHECK(base == expected);
    expected += 3;
    const auto bases = read_bases(log, reader);
    REQUIRE(bases.size() == 1);
    CHECK(bases[0] == base);
    CHECK(log.info().retained_bytes <= log.capacity());
  }
  CHECK(log.claim_position() > 4 * kCapacity);
  CHECK(reader.next == expected);
}

TEST_CASE("memory log: seek moves inside the retained window and clamps outside it", "[topic][memory_log]") {
  MemoryPartition log(kCapacity, FullPolicy::block, nullptr);
  BatchMaker maker;
  Reader reader = gated_reader(log, "r", Partition::kEarliest);
  for (int i = 0; i < 100; ++i) (void)append(log, maker.make(2, 100));
  CHECK(seek(reader, 51) == 51);
  auto bases = read_bases(log, reader);
  REQUIRE_FALSE(bases.empty());
  CHECK(bases.front() == 50);  // the batch holding offset 51
  CHECK(bases.back() == 198);
  CHECK(seek(reader, 10'000) == 200);
  CHECK(seek(reader, -5) == 0);
  CHECK(seek(reader, 0) == 0);
  CHECK(read_bases(log, reader).size() == 100);

  // Without gates nothing holds the old frames: the window moves on.
  reader.gate.reset();
  for (int i = 0; i < 400; ++i) (void)append(log, maker.make(2, 100));
  const auto info = log.info();
  CHECK(info.start_offset > 0);
  CHECK(info.end_offset == 1000);
  Reader late = gated_reader(log, "late", 0);
  CHECK(late.next == info.start_offset);
  CHECK(seek(late, info.start_offset + 7) == info.start_offset + 7);
  const auto late_bases = read_bases(log, late);
  REQUIRE_FALSE(late_bases.empty());
  CHECK(late_bases.front() <= info.start_offset + 7);
  CHECK(late_bases.back() == 998);
}

TEST_CASE("memory log: fail policy reports full while the slowest reader holds the space", "[topic][memory_log]") {
  MemoryPartition log(kCapacity, FullPolicy::fail, nullptr);
  BatchMaker maker;
  Reader slow = gated_reader(log, "slow", Partition::kEarliest);
  int appended = 0;
  while (log.append(maker.make(1, 4000), true, in(1s)).status == AppendStatus::ok) ++appended;
  CHECK(appended >= static_cast<int>(kCapacity / 4100) - 1);
  CHECK(log.info().retained_bytes <= log.capacity());
  CHECK(log.append(maker.make(1, 4000), false, in(0ms)).status == AppendStatus::full);
  // Once the reader's gate moves on, appends succeed again.
  CHECK(read_bases(log, slow).size() == static_cast<std::size_t>(appended));
  slow.gate.advance(slow.next);
  CHECK(log.append(maker.make(1, 4000), false, in(0ms)).status == AppendStatus::ok);
}

TEST_CASE("memory log: block policy times out, then resumes when the reader moves", "[topic][memory_log]") {
  MemoryPartition log(kCapacity, FullPolicy::block, nullptr);
  BatchMaker maker;
  Reader slow = gated_reader(log, "slow", Partition::kEarliest);
  while (log.append(maker.make(1, 4000), false, in(0ms)).status == AppendStatus::ok) {
  }
  CHECK(log.append(maker.make(1, 4000), true, in(30ms)).status == AppendStatus::timed_out);

  std::atomic<bool> appended{false};
  std::thread writer([&] {  // no Catch assertions off the main thread
    BatchMaker own;
    appended.store(log.append(own.make(1, 4000), true, in(60s)).status == AppendStatus::ok);
  });
  std::this_thread::sleep_for(20ms);
  const auto bases = read_bases(log, slow);
  slow.gate.advance(slow.next);  // the reader is done with what it read: the writer wakes
  writer.join();
  CHECK(appended.load());
  CHECK_FALSE(bases.empty());
  CHECK(log.end_offset() == bases.back() + 2);
}

TEST_CASE("memory log: overwrite never waits and tells a lagging reader exactly what it lost",
          "[topic][memory_log]") {
  MemoryPartition log(kCapacity, FullPolicy::overwrite, nullptr);
  BatchMaker maker;
  Reader lagging = gated_reader(log, "lagging", Partition::kEarliest);
  for (int i = 0; i < 200; ++i) {
    CHECK(log.append(maker.make(2, 1000), false, in(0ms)).status == AppendStatus::ok);
    CHECK(log.info().retained_bytes <= log.capacity());
  }
  const auto info = log.info();
  CHECK(info.end_offset == 400);
  CHECK(info.start_offset > 0);
  std::int64_t lost = 0;
  const auto bases = read_all(log, lagging, &lost);
  CHECK(lost == info.start_offset);
  REQUIRE_FALSE(bases.empty());
  CHECK(bases.front() == info.start_offset);
  for (std::size_t i = 1; i < bases.size(); ++i) CHECK(bases[i] == bases[i - 1] + 2);
  CHECK(lagging.next == 400);
}

TEST_CASE("memory log: a reader seeking below the window is clamped to its start", "[topic][memory_log]") {
  MemoryPartition log(kCapacity, FullPolicy::overwrite, nullptr);
  BatchMaker maker;
  for (int i = 0; i < 100; ++i) (void)append(log, maker.make(1, 2000));
  Reader reader = gated_reader(log, "r", Partition::kLatest);
  const std::int64_t start = log.info().start_offset;
  CHECK(start > 0);
  CHECK(seek(reader, 0) == start);
  std::int64_t lost = 0;
  const auto bases = read_all(log, reader, &lost);
  CHECK(lost == 0);  // read from where the seek landed: nothing skipped
  CHECK(bases.front() == start);
  CHECK(bases.back() == 99);
}
