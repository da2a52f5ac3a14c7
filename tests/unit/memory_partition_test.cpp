// MemoryPartition on ring::FrameRing: appenders that claim at once without
// a lock, a stuck claim padded over by a reader (its offsets skipped, the
// batches after it read), gates opened on a full ring, and a capacity that
// is not a power of two lapped many times.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "codec/batch_format.hpp"
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

struct Read {
  std::int64_t offset;
  std::string value;
};

// Everything readable from `offset` on (with `gate` when given); `next`
// is where the reads stopped.
std::vector<Read> read_from(Partition& p, std::int64_t offset, const GateRef* gate, std::int64_t* next = nullptr,
                            std::int64_t* lost = nullptr, ReadLease* reuse = nullptr) {
  std::vector<Read> out;
  ReadLease own;
  ReadLease& lease = reuse != nullptr ? *reuse : own;
  ReadOptions options;
  options.gate = gate;
  for (;;) {
    const ReadStatus status = p.read(offset, 4096, lease, options);
    if (lost != nullptr) *lost += lease.lost();
    RecordCursor cursor(lease);
    rill::codec::DecodedRecord d;
    while (cursor.next(d)) out.push_back({d.offset, std::string(*d.value)});
    const std::int64_t was = offset;
    offset = std::max(offset, cursor.next_offset());
    if (status != ReadStatus::ok && offset == was) break;
  }
  if (next != nullptr) *next = offset;
  return out;
}

std::int64_t append(Partition& p, const std::string& tag, int records = 2) {
  std::vector<std::byte> batch = make_batch(records, 1000, tag);
  const auto r = p.append(batch, false, rill::detail::WaitClock::now());
  REQUIRE(r.status == AppendStatus::ok);
  return r.base_offset;
}

}  // namespace

TEST_CASE("memory partition: a stuck append is padded over by a reader, and the batches after it are read",
          "[storage][memory]") {
  for (const bool gated : {true, false}) {
    CAPTURE(gated);
    MemoryPartition p(64 * 1024, FullPolicy::block, nullptr, 50ms);
    GateRef gate = p.open_gate("g", Partition::kEarliest);
    CHECK(append(p, "a") == 0);
    // A holder claims offsets 2..4 and stops before it commits.
    std::vector<std::byte> stuck = make_batch(3, 1000, "stuck");
    const rill::ring::FrameClaim claim = p.ring_for_test().try_claim_marked(stuck.size(), 3);
    REQUIRE(claim.status == rill::ring::ClaimStatus::ok);
    CHECK(claim.first_offset == 2);
    CHECK(append(p, "b") == 5);  // appenders do not wait for it
    CHECK(p.positions().log_end == 7);
    std::int64_t next = 0;
    ReadLease lease;  // a reader keeps its lease, and with it its watch on the stuck frame
    std::vector<Read> before = read_from(p, 0, gated ? &gate : nullptr, &next, nullptr, &lease);
    REQUIRE(before.size() == 2);  // the reads end in front of the uncommitted frame
    CHECK(before[1].value == "a/1");
    CHECK(next == 2);
    std::this_thread::sleep_for(60ms);  // longer than the stuck timeout
    std::vector<Read> after = read_from(p, next, gated ? &gate : nullptr, &next, nullptr, &lease);
    REQUIRE(after.size() == 2);
    CHECK(after[0].offset == 5);  // offsets 2..4 are a gap no record had
    CHECK(after[0].value == "b/0");
    CHECK(after[1].offset == 6);
    CHECK(next == 7);
    // The holder resumes: its commit fails, and nothing of it is ever read.
    p.ring_for_test().write_body(claim, 0, stuck);
    CHECK_FALSE(p.ring_for_test().commit(claim));
    CHECK(read_from(p, 0, gated ? &gate : nullptr).size() == 4);
  }
}

TEST_CASE("memory partition: a gate opened on a full ring keeps what it names, or says where it landed",
          "[storage][memory][gate]") {
  MemoryPartition p(64 * 1024, FullPolicy::block, nullptr);
  // No gate: appends overwrite the oldest frames, lap after lap.
  for (int i = 0; i < 3000; ++i) append(p, "v" + std::to_string(i), 4);
  const auto window = p.positions();
  REQUIRE(window.log_start > 0);
  GateRef gate = p.open_gate("late", Partition::kEarliest);
  const std::int64_t held = gate.offset();
  CHECK(held >= window.log_start);
  CHECK(held <= window.log_start + 4);  // at most the oldest batch goes, and the gate says so
  // From now on the gate holds: the producer fills the ring and is refused,
  // and every record from the gate on is still there, in order.
  int appended = 0;
  std::vector<std::byte> batch = make_batch(4, 1000, "w");
  while (p.append(batch, false, rill::detail::WaitClock::now()).status == AppendStatus::ok) ++appended;
  CHECK(appended < 1000);
  std::int64_t next = 0;
  const std::vector<Read> got = read_from(p, held, &gate, &next);
  REQUIRE(!got.empty());
  CHECK(got.front().offset == held);
  for (std::size_t i = 1; i < got.size(); ++i) CHECK(got[i].offset == got[i - 1].offset + 1);
  CHECK(next == p.positions().log_end);
  // Moving the gate back below the window lands it inside the window, and
  // everything from where it landed is there.
  const std::int64_t landed = gate.move_back(0);
  CHECK(landed >= window.log_start);
  CHECK(landed <= held);
  const std::vector<Read> again = read_from(p, landed, &gate, &next);
  REQUIRE(!again.empty());
  CHECK(again.front().offset == landed);
  CHECK(again.back().offset == got.back().offset);
}

TEST_CASE("memory partition: a capacity that is not a power of two laps many times, whole and in order",
          "[storage][memory]") {
  MemoryPartition p(100'000, FullPolicy::overwrite, nullptr);
  CHECK(p.capacity() == 100'000);
  std::int64_t offset = 0;
  std::int64_t lost = 0;
  std::int64_t seen = 0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 1000; ++i) append(p, "r" + std::to_string(round * 1000 + i), 1 + i % 7);
    std::int64_t round_lost = 0;
    const std::vector<Read> got = read_from(p, offset, nullptr, &offset, &round_lost);
    lost += round_lost;
    seen += static_cast<std::int64_t>(got.size());
    for (std::size_t i = 1; i < got.size(); ++i) CHECK(got[i].offset == got[i - 1].offset + 1);
  }
  CHECK(p.claim_position() > 10 * p.capacity());
  CHECK(seen + lost == p.positions().log_end);
  CHECK(lost > 0);
  // Every retained offset is found by a read that starts at it.
  const auto window = p.positions();
  for (std::int64_t o = window.log_start; o < window.log_end; o += 13) {
    ReadLease lease;
    REQUIRE(p.read(o, 1, lease, {}) == ReadStatus::ok);
    CHECK(lease.lost() == 0);
    RecordCursor cursor(lease);
    rill::codec::DecodedRecord d;
    REQUIRE(cursor.next(d));
    CHECK(d.offset == o);
  }
}

TEST_CASE("memory partition: producers append at once while a gated reader keeps up, and every batch arrives once with dense offsets",
          "[storage][memory][tsan]") {
  MemoryPartition p(32 * 1024, FullPolicy::block, nullptr, 30s);
  GateRef gate = p.open_gate("reader", Partition::kEarliest);
  constexpr int kProducers = 3;
  constexpr int kBatches = 600;
  // Catch is not thread-safe: every batch is built here.
  std::vector<std::vector<std::vector<std::byte>>> batches(kProducers);
  for (int t = 0; t < kProducers; ++t) {
    for (int i = 0; i < kBatches; ++i) batches[t].push_back(make_batch(3, 1000, std::to_string(t) + ":" + std::to_string(i)));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      for (std::vector<std::byte>& b : batches[t]) {
        if (p.append(b, true, rill::detail::deadline_after(30s)).status != AppendStatus::ok) ++failures;
      }
    });
  }
  std::set<std::string> seen;
  std::int64_t offset = 0;
  bool dense = true;
  bool whole = true;
  ReadLease lease;
  ReadOptions options;
  options.gate = &gate;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (offset < 3 * kProducers * kBatches && std::chrono::steady_clock::now() < deadline) {
    if (p.read(offset, 2048, lease, options) != ReadStatus::ok) continue;
    RecordCursor cursor(lease);
    rill::codec::DecodedRecord d;
    while (cursor.next(d)) {
      dense = dense && d.offset == offset;
      offset = d.offset + 1;
      const std::string value(*d.value);
      const auto slash = value.find('/');
      whole = whole && slash != std::string::npos;
      if (slash != std::string::npos && value.substr(slash + 1) == "0") seen.insert(value.substr(0, slash));
    }
    gate.advance(offset);  // done with everything below
  }
  for (std::thread& t : producers) t.join();
  CHECK(failures.load() == 0);
  CHECK(dense);
  CHECK(whole);
  CHECK(offset == 3 * kProducers * kBatches);
  CHECK(seen.size() == static_cast<std::size_t>(kProducers * kBatches));
}
