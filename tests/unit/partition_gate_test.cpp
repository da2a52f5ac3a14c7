// Gates: named offsets that hold back a memory partition's appender under
// FullPolicy::block and ::fail (shared by name, clamped when moved back,
// a no-op on durable partitions), and a reader advancing its gate while a
// producer appends.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "storage/durable_partition.hpp"
#include "storage/memory_partition.hpp"
#include "storage/record_cursor.hpp"

namespace {

using rill::FullPolicy;
using rill::storage::AppendStatus;
using rill::storage::GateRef;
using rill::storage::MemoryPartition;
using rill::storage::Partition;
using rill::storage::ReadLease;
using rill::storage::ReadOptions;
using rill::storage::ReadStatus;
using rill::storage::RecordCursor;
using rill::test::make_batch;
using namespace std::chrono_literals;

AppendStatus try_append(Partition& p, const std::string& tag, std::int64_t* base = nullptr) {
  std::vector<std::byte> batch = make_batch(4, 1000, tag);
  const auto r = p.append(batch, false, rill::detail::WaitClock::now());
  if (base != nullptr) *base = r.base_offset;
  return r.status;
}

// Appends 4-record batches until the partition is full; returns the end offset.
std::int64_t fill(Partition& p) {
  int n = 0;
  while (try_append(p, "f" + std::to_string(n)) == AppendStatus::ok) ++n;
  REQUIRE(n > 2);
  return p.positions().log_end;
}

// The values of the records from `offset` on, read with `gate`.
std::vector<std::string> values_from(Partition& p, std::int64_t offset, const GateRef& gate) {
  std::vector<std::string> out;
  ReadLease lease;
  ReadOptions options;
  options.gate = &gate;
  while (p.read(offset, 1 << 20, lease, options) == ReadStatus::ok) {
    RecordCursor cursor(lease);
    rill::codec::DecodedRecord d;
    while (cursor.next(d)) out.emplace_back(*d.value);
    offset = cursor.next_offset();
  }
  return out;
}

}  // namespace

TEST_CASE("gate: a producer blocked by a gate proceeds only once the gate advances", "[storage][gate]") {
  MemoryPartition p(4096, FullPolicy::block, nullptr);
  GateRef gate = p.open_gate("group-a", 0);
  const std::int64_t end = fill(p);
  CHECK(p.positions().log_start == 0);  // the gate kept every record

  std::atomic<bool> done{false};
  rill::storage::AppendResult result;
  std::vector<std::byte> batch = make_batch(4, 1000, "late");  // here: Catch is not thread-safe
  std::thread producer([&] {
    result = p.append(batch, true, rill::detail::deadline_after(60s));
    done.store(true, std::memory_order_release);
  });
  // Not a timing assertion: whatever the wait, the producer cannot get
  // room while the gate holds offset 0.
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(done.load(std::memory_order_acquire));
  CHECK(p.positions().log_start == 0);
  CHECK(values_from(p, 0, gate).front() == "f0/0");

  gate.advance(8);  // the first two batches may go
  producer.join();
  REQUIRE(result.status == AppendStatus::ok);
  CHECK(result.base_offset == end);
  const rill::storage::Positions at = p.positions();
  CHECK(at.log_start > 0);
  CHECK(at.log_start <= 8);
  CHECK(at.log_end == end + 4);
  const std::vector<std::string> values = values_from(p, 8, gate);
  CHECK(values.front() == "f2/0");
  CHECK(values.back() == "late/3");
  CHECK(values.size() == static_cast<std::size_t>(end + 4 - 8));
}

TEST_CASE("gate: under fail a gate makes the append report full until its last holder drops it", "[storage][gate]") {
  MemoryPartition p(4096, FullPolicy::fail, nullptr);
  GateRef first = p.open_gate("g", 0);
  GateRef second = p.open_gate("g", 0);  // the same gate, shared
  (void)fill(p);
  CHECK(try_append(p, "x") == AppendStatus::full);
  first.reset();
  CHECK(try_append(p, "x") == AppendStatus::full);  // the other holder keeps it
  second.reset();
  CHECK(try_append(p, "x") == AppendStatus::ok);
}

TEST_CASE("gate: shared by name, moved back within the retained window, reopened lower", "[storage][gate]") {
  MemoryPartition p(4096, FullPolicy::block, nullptr);
  for (int b = 0; b < 40; ++b) (void)try_append(p, "w");  // no gate: the oldest are dropped
  const rill::storage::Positions at = p.positions();
  REQUIRE(at.log_start > 0);

  GateRef a = p.open_gate("g", 0);
  CHECK(a.offset() == at.log_start);  // clamped to the retained start
  a.advance(at.log_end);
  GateRef b = p.open_gate("g", at.log_end - 4);  // a new holder needs more: the shared gate moves back
  CHECK(a.offset() == at.log_end - 4);
  CHECK(b.offset() == at.log_end - 4);
  a.advance(at.log_end - 8);  // never backwards
  CHECK(a.offset() == at.log_end - 4);
  CHECK(a.move_back(0) == at.log_start);
  CHECK(b.offset() == at.log_start);
  CHECK(a.move_back(at.log_end + 100) == at.log_end);
  GateRef other = p.open_gate("h", Partition::kLatest);
  CHECK(other.offset() == at.log_end);
  GateRef moved = std::move(other);
  CHECK_FALSE(other);
  CHECK(moved.offset() == at.log_end);
}

TEST_CASE("gate: the calls a reader makes on its hot path do not throw", "[storage][gate]") {
  MemoryPartition p(4096, FullPolicy::block, nullptr);
  GateRef gate = p.open_gate("g", 0);
  ReadLease lease;
  STATIC_REQUIRE(noexcept(gate.advance(1)));
  STATIC_REQUIRE(noexcept(gate.offset()));
  STATIC_REQUIRE(noexcept(gate.move_back(0)));
  STATIC_REQUIRE(noexcept(p.read(0, 1, lease, ReadOptions{})));
  STATIC_REQUIRE(noexcept(p.positions()));
}

TEST_CASE("gate: durable partitions accept the same calls and hold nothing back", "[storage][gate][durable]") {
  rill::test::TempDir dir("rill-partition-gate");
  rill::log::SegmentLogOptions lo;
  lo.segment_bytes = 4096;
  rill::detail::BlockingWait signal;
  rill::storage::DurablePartition p(rill::log::SegmentLog::open(dir.path() + "/t-0", lo),
                                    {.storage = rill::StorageKind::durable, .segment_bytes = 4096}, "t-0", &signal);
  GateRef gate = p.open_gate("g", Partition::kEarliest);
  for (int b = 0; b < 20; ++b) REQUIRE(try_append(p, "d") == AppendStatus::ok);
  gate.advance(40);
  CHECK(gate.offset() == 40);
  CHECK(gate.move_back(-5) == 0);
  CHECK(values_from(p, 0, gate).size() == 80);
}

TEST_CASE("gate: a reader advancing its gate while a blocked producer appends reads every record in place", "[storage][gate][tsan]") {
  MemoryPartition p(4096, FullPolicy::block, nullptr);
  constexpr int kBatches = 3000;
  GateRef gate = p.open_gate("reader", 0);
  std::vector<std::vector<std::byte>> batches;  // built here: Catch is not thread-safe
  for (int b = 0; b < kBatches; ++b) batches.push_back(make_batch(4, 1000, std::to_string(b)));
  std::thread producer([&] {
    for (std::vector<std::byte>& batch : batches) {
      if (p.append(batch, true, rill::detail::deadline_after(60s)).status != AppendStatus::ok) return;
    }
  });
  std::int64_t offset = 0;
  bool in_order = true;
  ReadLease lease;
  ReadOptions options;
  options.gate = &gate;
  while (offset < 4 * kBatches) {
    if (p.read(offset, 1024, lease, options) != ReadStatus::ok) continue;
    RecordCursor cursor(lease);
    rill::codec::DecodedRecord d;
    while (cursor.next(d)) {
      in_order = in_order && d.offset == offset &&
                 *d.value == std::to_string(d.offset / 4) + "/" + std::to_string(d.offset % 4);
      offset = d.offset + 1;
    }
    offset = cursor.next_offset();
    gate.advance(offset);  // the lease's batches are read: let them go
  }
  producer.join();
  CHECK(in_order);
  CHECK(offset == 4 * kBatches);
}
