// Unit tests of BroadcastRing: gating back-pressure, exact loss counts in
// lossy mode, reader registration, multi-word items, blocking forms.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/detail/broadcast_ring.hpp"
#include "test_util.hpp"

namespace {

using rill::detail::BlockingWait;
using rill::detail::BroadcastMode;
using rill::detail::BroadcastRing;
using rill::detail::deadline_after;
using rill::detail::BroadcastRead;
using rill::detail::BroadcastReadStatus;
using rill::detail::SpinThenYield;
using namespace std::chrono_literals;

using Ring = BroadcastRing<std::uint64_t>;

constexpr BroadcastRead kOk{BroadcastReadStatus::ok};
constexpr BroadcastRead kEmpty{BroadcastReadStatus::empty};
BroadcastRead lost(std::uint64_t count) { return {BroadcastReadStatus::lost, count}; }

std::size_t add_reader(Ring& ring) {
  const std::optional<std::size_t> id = ring.register_reader();
  REQUIRE(id.has_value());
  return *id;
}

void publish_range(Ring& ring, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) REQUIRE(ring.try_publish(first + i));
}

// Reads until empty; returns the items and adds reported losses to `lost`.
std::vector<std::uint64_t> read_all(Ring& ring, std::size_t reader, std::uint64_t& lost_total) {
  std::vector<std::uint64_t> items;
  std::uint64_t value = 0;
  for (;;) {
    const BroadcastRead result = ring.try_read(reader, value);
    if (result.status == BroadcastReadStatus::empty) return items;
    if (result.status == BroadcastReadStatus::lost) {
      lost_total += result.lost_count;
    } else {
      items.push_back(value);
    }
  }
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t count) {
  std::vector<std::uint64_t> values;
  for (std::uint64_t i = 0; i < count; ++i) values.push_back(first + i);
  return values;
}

struct Wide {  // 20 bytes: several words and a partial one
  std::uint32_t parts[5];
};

}  // namespace

TEST_CASE("broadcast ring: every reader sees every item in order", "[ring]") {
  Ring ring(8, BroadcastMode::gating, 4);
  const std::size_t a = add_reader(ring);
  const std::size_t b = add_reader(ring);
  publish_range(ring, 100, 5);
  std::uint64_t lost_total = 0;
  CHECK(read_all(ring, a, lost_total) == range(100, 5));
  publish_range(ring, 105, 2);
  CHECK(read_all(ring, a, lost_total) == range(105, 2));
  CHECK(read_all(ring, b, lost_total) == range(100, 7));
  CHECK(lost_total == 0);
  CHECK(ring.published() == 7);
  CHECK(ring.reader_position(a) == 7);
}

TEST_CASE("broadcast ring: gating refuses to pass the slowest reader", "[ring]") {
  Ring ring(4, BroadcastMode::gating, 2);
  const std::size_t fast = add_reader(ring);
  const std::size_t slow = add_reader(ring);
  publish_range(ring, 0, 4);
  CHECK_FALSE(ring.try_publish(4));  // exactly full for `slow`
  std::uint64_t lost_total = 0;
  CHECK(read_all(ring, fast, lost_total) == range(0, 4));
  CHECK_FALSE(ring.try_publish(4));  // still full: `slow` has read nothing
  std::uint64_t value = 0;
  REQUIRE(ring.try_read(slow, value) == kOk);
  CHECK(value == 0);
  CHECK(ring.try_publish(4));
  CHECK_FALSE(ring.try_publish(5));
  CHECK(read_all(ring, slow, lost_total) == range(1, 4));
  CHECK(lost_total == 0);
}

TEST_CASE("broadcast ring: gating with no reader never fills", "[ring]") {
  Ring ring(2, BroadcastMode::gating, 2);
  publish_range(ring, 0, 10);
  const std::size_t late = add_reader(ring);
  std::uint64_t value = 0;
  CHECK(ring.try_read(late, value) == kEmpty);  // starts at the next item
  publish_range(ring, 10, 2);
  CHECK_FALSE(ring.try_publish(12));
  std::uint64_t lost_total = 0;
  CHECK(read_all(ring, late, lost_total) == range(10, 2));
}

TEST_CASE("broadcast ring: unregistering the slow reader releases the gate", "[ring]") {
  Ring ring(2, BroadcastMode::gating, 1);
  const std::size_t reader = add_reader(ring);
  CHECK_FALSE(ring.register_reader().has_value());  // all reader slots taken
  publish_range(ring, 0, 2);
  CHECK_FALSE(ring.try_publish(2));
  ring.unregister_reader(reader);
  CHECK(ring.try_publish(2));
  const std::size_t again = add_reader(ring);
  CHECK(again == reader);
  std::uint64_t value = 0;
  CHECK(ring.try_read(again, value) == kEmpty);
}

TEST_CASE("broadcast ring: a lossy reader overrun by one item is told exactly one", "[ring]") {
  Ring ring(8, BroadcastMode::lossy, 2);
  const std::size_t reader = add_reader(ring);
  publish_range(ring, 0, 9);  // item 8 overwrote item 0
  std::uint64_t value = 0;
  CHECK(ring.try_read(reader, value) == lost(1));
  std::uint64_t lost_total = 0;
  CHECK(read_all(ring, reader, lost_total) == range(1, 8));
  CHECK(lost_total == 0);
}

TEST_CASE("broadcast ring: a lossy reader resumes at the oldest retained item", "[ring]") {
  Ring ring(8, BroadcastMode::lossy, 2);
  const std::size_t reader = add_reader(ring);
  publish_range(ring, 0, 20);
  std::uint64_t value = 0;
  CHECK(ring.try_read(reader, value) == lost(12));
  std::uint64_t lost_total = 0;
  CHECK(read_all(ring, reader, lost_total) == range(12, 8));
  CHECK(lost_total == 0);
}

TEST_CASE("broadcast ring: lossy loss counts add up exactly for any overrun", "[ring]") {
  std::mt19937_64 random(rill::test::seed());
  Ring ring(16, BroadcastMode::lossy, 1);
  const std::size_t reader = add_reader(ring);
  std::uint64_t next = 0;
  std::uint64_t delivered_next = 0;
  std::uint64_t lost_total = 0;
  for (int round = 0; round < 200; ++round) {
    const std::uint64_t burst = random() % 70;
    publish_range(ring, next, burst);
    next += burst;
    const std::uint64_t lost_before = lost_total;
    const std::vector<std::uint64_t> items = read_all(ring, reader, lost_total);
    // What was delivered is contiguous, ends at the newest item, and the gap
    // before it is exactly the reported loss.
    if (!items.empty()) {
      REQUIRE(items.front() == delivered_next + (lost_total - lost_before));
      REQUIRE(items == range(items.front(), items.size()));
      delivered_next = items.back() + 1;
    }
    REQUIRE(delivered_next == next);
  }
  CHECK(ring.reader_position(reader) == next);
}

TEST_CASE("broadcast ring: a lossy producer never fails and never waits", "[ring]") {
  Ring ring(2, BroadcastMode::lossy, 1);
  const std::size_t reader = add_reader(ring);
  publish_range(ring, 0, 1000);
  std::uint64_t value = 0;
  CHECK(ring.try_read(reader, value) == lost(998));
  CHECK(ring.try_read(reader, value) == kOk);
  CHECK(value == 998);
}

TEST_CASE("broadcast ring: positions far from zero behave the same", "[ring]") {
  Ring ring(4, BroadcastMode::lossy, 1);
  const std::size_t reader = add_reader(ring);
  ring.reset_positions_for_test(std::uint64_t{1} << 40);
  publish_range(ring, 7, 6);
  std::uint64_t value = 0;
  CHECK(ring.try_read(reader, value) == lost(2));
  std::uint64_t lost_total = 0;
  CHECK(read_all(ring, reader, lost_total) == range(9, 4));
}

TEST_CASE("broadcast ring: items wider than a word are copied whole", "[ring]") {
  BroadcastRing<Wide> ring(4, BroadcastMode::gating, 1);
  const std::size_t reader = *ring.register_reader();
  REQUIRE(ring.try_publish(Wide{{1, 2, 3, 4, 5}}));
  Wide out{};
  REQUIRE(ring.try_read(reader, out) == kOk);
  CHECK(out.parts[0] == 1);
  CHECK(out.parts[4] == 5);
}

TEST_CASE("broadcast ring: blocking read and publish time out", "[ring][wait]") {
  Ring ring(2, BroadcastMode::gating, 1);
  const std::size_t reader = add_reader(ring);
  BlockingWait block;
  SpinThenYield yield;
  std::uint64_t value = 0;
  CHECK(ring.read(reader, value, block, deadline_after(5ms)) == kEmpty);
  CHECK(ring.read(reader, value, yield, deadline_after(5ms)) == kEmpty);
  REQUIRE(ring.publish(1, block, deadline_after(5ms)));
  REQUIRE(ring.publish(2, block, deadline_after(5ms)));
  CHECK_FALSE(ring.publish(3, block, deadline_after(5ms)));
  CHECK_FALSE(ring.publish(3, yield, deadline_after(5ms)));
  CHECK(ring.read(reader, value, block, deadline_after(5ms)) == kOk);
  CHECK(value == 1);
}

TEST_CASE("broadcast ring: the hot-path calls are noexcept", "[ring]") {
  Ring ring(2, BroadcastMode::lossy, 1);
  std::uint64_t value = 0;
  STATIC_REQUIRE(noexcept(ring.try_publish(value)));
  STATIC_REQUIRE(noexcept(ring.try_read(0, value)));
  STATIC_REQUIRE(noexcept(ring.register_reader()));
  STATIC_REQUIRE(noexcept(ring.unregister_reader(0)));
}
