// Unit tests of SpscRing: order, full/empty edges, wrap of the slot array and
// of the 64-bit positions, batches mixed with single calls, slot sequences
// across laps, zero-copy consume, lifetimes, blocking forms.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/detail/spsc_ring.hpp"
#include "rill/error.hpp"
#include "ring_test_util.hpp"

namespace {

using rill::detail::BlockingWait;
using rill::detail::BusySpin;
using rill::detail::deadline_after;
using rill::detail::SpinThenYield;
using rill::detail::SpscRing;
using namespace std::chrono_literals;

using rill::test::Counted;

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::vector<int> drain(SpscRing<int>& ring) {
  std::vector<int> out;
  int value = 0;
  while (ring.try_pop(value)) out.push_back(value);
  return out;
}

std::vector<int> iota(int first, int count) {
  std::vector<int> values(static_cast<std::size_t>(count));
  std::iota(values.begin(), values.end(), first);
  return values;
}

}  // namespace

TEST_CASE("spsc ring: capacity is rounded up to a power of two", "[ring]") {
  CHECK(SpscRing<int>(1).capacity() == 1);
  CHECK(SpscRing<int>(5).capacity() == 8);
  CHECK(SpscRing<int>(1024).capacity() == 1024);
  CHECK_THROWS_AS(SpscRing<int>(0), rill::Error);
}

TEST_CASE("spsc ring: items come out in the order they went in", "[ring]") {
  SpscRing<int> ring(8);
  CHECK(ring.empty());
  for (int i = 0; i < 5; ++i) REQUIRE(ring.try_push(i));
  CHECK(ring.size() == 5);
  CHECK(drain(ring) == iota(0, 5));
  CHECK(ring.empty());
}

TEST_CASE("spsc ring: an exactly full ring refuses a push and leaves the item alone", "[ring]") {
  SpscRing<std::unique_ptr<int>> ring(4);
  for (int i = 0; i < 4; ++i) REQUIRE(ring.try_push(std::make_unique<int>(i)));
  CHECK(ring.size() == ring.capacity());
  auto extra = std::make_unique<int>(99);
  CHECK_FALSE(ring.try_push(std::move(extra)));
  REQUIRE(extra != nullptr);  // not moved from
  CHECK(*extra == 99);
  std::unique_ptr<int> out;
  REQUIRE(ring.try_pop(out));
  CHECK(*out == 0);
  CHECK(ring.try_push(std::move(extra)));
}

TEST_CASE("spsc ring: the consumer frees slots a group at a time", "[ring]") {
  SpscRing<std::uint64_t> ring(1024);
  const std::size_t batch = ring.release_batch();
  REQUIRE(batch > 1);
  std::uint64_t pushed = 0;
  while (ring.try_push(pushed)) ++pushed;
  CHECK(pushed == ring.capacity() + batch - 1);  // the spare slots of one group
  std::uint64_t out = 0;
  for (std::size_t i = 0; i + 1 < batch; ++i) REQUIRE(ring.try_pop(out));
  CHECK(out == batch - 2);
  CHECK_FALSE(ring.try_push(pushed));  // taken but not yet released
  REQUIRE(ring.try_pop(out));          // completes the group
  CHECK(ring.try_push(pushed++));
  std::uint64_t expected = batch;
  while (ring.try_pop(out)) CHECK(out == expected++);
  CHECK(expected == pushed);
  CHECK(ring.empty());  // an empty ring releases everything
}

TEST_CASE("spsc ring: capacity() items always fit while releases are held back", "[ring]") {
  SpscRing<std::uint64_t> ring(512);
  const std::size_t batch = ring.release_batch();
  std::uint64_t value = 0;
  for (int lap = 0; lap < 5; ++lap) {
    for (std::size_t i = 0; i < ring.capacity(); ++i) REQUIRE(ring.try_push(value++));
    for (std::size_t i = 0; i + 1 < batch; ++i) REQUIRE(ring.try_pop(value));
    // The consumer holds batch - 1 unreleased slots; the ring still holds
    // capacity() - (batch - 1) items and takes batch - 1 more.
    for (std::size_t i = 0; i + 1 < batch; ++i) REQUIRE(ring.try_push(value));
    CHECK_FALSE(ring.try_push(value));
    std::uint64_t drained = 0;
    while (ring.try_pop(value)) ++drained;
    CHECK(drained == ring.capacity());
  }
}

TEST_CASE("spsc ring: items just before the wrap of the slot array stay in order", "[ring]") {
  SpscRing<int> ring(8);
  ring.reset_positions_for_test(6);
  for (int i = 0; i < 8; ++i) REQUIRE(ring.try_push(i));
  CHECK_FALSE(ring.try_push(8));
  CHECK(drain(ring) == iota(0, 8));
}

TEST_CASE("spsc ring: the 64-bit positions may wrap around", "[ring]") {
  SpscRing<int> ring(4);
  ring.reset_positions_for_test(kMax - 1);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) REQUIRE(ring.try_push(round * 10 + i));
    CHECK_FALSE(ring.try_push(-1));
    CHECK(ring.size() == 4);
    CHECK(drain(ring) == iota(round * 10, 4));
  }
  CHECK(ring.empty());
}

TEST_CASE("spsc ring: a batch push across the wrap publishes what fits", "[ring]") {
  SpscRing<int> ring(8);
  ring.reset_positions_for_test(5);
  const std::vector<int> items = iota(100, 12);
  CHECK(ring.try_push_n(items.data(), 3) == 3);
  CHECK(ring.try_push_n(items.data() + 3, 9) == 5);  // only 5 free
  CHECK(ring.try_push_n(items.data(), 1) == 0);
  CHECK(drain(ring) == iota(100, 8));
}

TEST_CASE("spsc ring: a batch pop across the wrap returns what is there", "[ring]") {
  SpscRing<int> ring(8);
  ring.reset_positions_for_test(kMax - 3);  // wraps the slots and the counters
  for (int i = 0; i < 7; ++i) REQUIRE(ring.try_push(i));
  std::vector<int> out(16, -1);
  CHECK(ring.try_pop_n(out.data(), 2) == 2);
  CHECK(ring.try_pop_n(out.data() + 2, 16) == 5);
  CHECK(ring.try_pop_n(out.data(), 16) == 0);
  out.resize(7);
  CHECK(out == iota(0, 7));
}

TEST_CASE("spsc ring: batches of non-trivial items copy, move and destroy them", "[ring]") {
  SpscRing<std::string> ring(4);
  ring.reset_positions_for_test(2);
  const std::vector<std::string> items = {"alpha", "beta", "gamma", "delta", "epsilon"};
  CHECK(ring.try_push_n(items.data(), items.size()) == 4);
  std::string out[4];
  CHECK(ring.try_pop_n(out, 4) == 4);
  CHECK(out[0] == "alpha");
  CHECK(out[3] == "delta");
  CHECK(items[0] == "alpha");  // copied, not moved
}

TEST_CASE("spsc ring: single and batch calls mix on both sides and keep the order", "[ring]") {
  SpscRing<int> ring(8);
  ring.reset_positions_for_test(kMax - 20);  // crosses the counter wrap on the way
  int next_in = 0;
  int next_out = 0;
  std::vector<int> batch(5);
  for (int lap = 0; lap < 40; ++lap) {
    if (lap % 2 == 0) {
      REQUIRE(ring.try_push(next_in));
      ++next_in;
    } else {
      std::iota(batch.begin(), batch.end(), next_in);
      next_in += static_cast<int>(ring.try_push_n(batch.data(), batch.size()));
    }
    if (lap % 3 == 0) {
      int out = -1;
      REQUIRE(ring.try_pop(out));
      CHECK(out == next_out++);
    } else {
      std::vector<int> out(3, -1);
      const std::size_t got = ring.try_pop_n(out.data(), out.size());
      for (std::size_t i = 0; i < got; ++i) CHECK(out[i] == next_out++);
    }
  }
  int out = -1;
  while (ring.try_pop(out)) CHECK(out == next_out++);
  CHECK(next_out == next_in);
  CHECK(ring.front() == nullptr);
}

TEST_CASE("spsc ring: a slot left from an earlier lap never reads as a new item", "[ring]") {
  SpscRing<std::uint64_t> ring(4);
  std::uint64_t value = 0;
  for (int lap = 0; lap < 10; ++lap) {
    for (std::uint64_t i = 0; i < 3; ++i) REQUIRE(ring.try_push(10 * lap + i));
    for (std::uint64_t i = 0; i < 3; ++i) {
      REQUIRE(ring.try_pop(value));
      CHECK(value == 10 * lap + i);
    }
    CHECK(ring.front() == nullptr);
    CHECK_FALSE(ring.try_pop(value));
  }
}

TEST_CASE("spsc ring: size is exact once the consumer has caught up", "[ring]") {
  SpscRing<std::uint64_t> ring(1024);
  REQUIRE(ring.release_batch() > 5);
  std::uint64_t value = 0;
  for (std::uint64_t i = 0; i < 5; ++i) REQUIRE(ring.try_push(i));
  for (std::uint64_t i = 0; i < 5; ++i) REQUIRE(ring.try_pop(value));
  CHECK(value == 4);
  CHECK(ring.empty());  // released without another failed pop
  REQUIRE(ring.try_push(5));
  CHECK(ring.size() == 1);
  REQUIRE(ring.front() != nullptr);
  CHECK(*ring.front() == 5);
  ring.pop();
  CHECK(ring.empty());
}

TEST_CASE("spsc ring: front and pop consume in place", "[ring]") {
  SpscRing<std::string> ring(2);
  CHECK(ring.front() == nullptr);
  REQUIRE(ring.try_emplace(3, 'x'));
  REQUIRE(ring.try_emplace("yz"));
  std::string* first = ring.front();
  REQUIRE(first != nullptr);
  CHECK(*first == "xxx");
  CHECK(ring.front() == first);  // front does not consume
  ring.pop();
  std::string* second = ring.front();
  REQUIRE(second != nullptr);
  CHECK(*second == "yz");
  ring.pop();
  CHECK(ring.front() == nullptr);
}

TEST_CASE("spsc ring: every element is destroyed exactly once", "[ring]") {
  Counted::alive = 0;
  Counted::bad_destroys = 0;
  {
    SpscRing<Counted> ring(8);
    ring.reset_positions_for_test(5);
    for (int i = 0; i < 6; ++i) REQUIRE(ring.try_emplace(i));
    CHECK(Counted::alive == 6);
    Counted out(-1);
    REQUIRE(ring.try_pop(out));
    CHECK(out.value == 0);
    ring.pop();  // front() is non-null, so pop is allowed
    CHECK(Counted::alive == 4 + 1);
    const Counted batch[2] = {Counted(10), Counted(11)};
    CHECK(ring.try_push_n(batch, 2) == 2);
    CHECK(Counted::alive == 6 + 3);
  }  // the destructor destroys the 6 items still in the ring
  CHECK(Counted::alive == 0);
  CHECK(Counted::bad_destroys == 0);
}

TEST_CASE("spsc ring: blocking pop and push time out with each wait strategy", "[ring][wait]") {
  SpscRing<int> ring(2);
  int out = 0;
  BusySpin spin;
  SpinThenYield yield;
  BlockingWait block;
  CHECK_FALSE(ring.pop(out, spin, deadline_after(5ms)));
  CHECK_FALSE(ring.pop(out, yield, deadline_after(5ms)));
  CHECK_FALSE(ring.pop(out, block, deadline_after(5ms)));
  REQUIRE(ring.push(1, block, deadline_after(5ms)));
  REQUIRE(ring.push(2, block, deadline_after(5ms)));
  CHECK_FALSE(ring.push(3, spin, deadline_after(5ms)));
  CHECK_FALSE(ring.push(3, yield, deadline_after(5ms)));
  CHECK_FALSE(ring.push(3, block, deadline_after(5ms)));
  CHECK(drain(ring) == std::vector<int>{1, 2});
}

TEST_CASE("spsc ring: a blocked consumer is woken by the producer", "[ring][wait]") {
  SpscRing<int> ring(2);
  BlockingWait wait;
  constexpr int kItems = 1000;
  std::atomic<int> failed_pushes{0};  // Catch assertions stay on the test thread
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) {
      if (!ring.push(i, wait)) failed_pushes.fetch_add(1, std::memory_order_relaxed);
    }
  });
  std::vector<int> received;
  int value = 0;
  for (int i = 0; i < kItems; ++i) {
    REQUIRE(ring.pop(value, wait, deadline_after(30s)));
    received.push_back(value);
  }
  producer.join();
  CHECK(failed_pushes.load() == 0);
  CHECK(received == iota(0, kItems));
}

TEST_CASE("spsc ring: noexcept follows the element type", "[ring]") {
  SpscRing<int> ints(2);
  SpscRing<std::string> strings(2);
  int i = 0;
  std::string s;
  STATIC_REQUIRE(noexcept(ints.try_push(i)));
  STATIC_REQUIRE(noexcept(ints.try_pop(i)));
  STATIC_REQUIRE(noexcept(ints.try_push_n(&i, 1)));
  STATIC_REQUIRE(noexcept(ints.try_pop_n(&i, 1)));
  STATIC_REQUIRE(noexcept(ints.front()));
  STATIC_REQUIRE(noexcept(ints.pop()));
  STATIC_REQUIRE(noexcept(strings.try_push(std::move(s))));
  STATIC_REQUIRE_FALSE(noexcept(strings.try_push(s)));  // copying a string may allocate
  STATIC_REQUIRE_FALSE(noexcept(strings.try_emplace("abc")));
  STATIC_REQUIRE(noexcept(strings.try_pop(s)));
  STATIC_REQUIRE(noexcept(strings.size()));
}

TEST_CASE("spsc ring: the compact layout moves batches across the wrap in order", "[ring]") {
  using Ring = rill::detail::SpscRing<std::uint64_t, rill::detail::SpscLayout::compact>;
  Ring ring(16);
  ring.reset_positions_for_test(std::numeric_limits<std::uint64_t>::max() - 20);
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  std::vector<std::uint64_t> in(7);
  std::vector<std::uint64_t> out(5);
  for (int round = 0; round < 50; ++round) {
    for (auto& v : in) v = next_in + static_cast<std::uint64_t>(&v - in.data());
    next_in += ring.try_push_n(in.data(), in.size());
    const std::size_t got = ring.try_pop_n(out.data(), out.size());
    for (std::size_t i = 0; i < got; ++i) REQUIRE(out[i] == next_out++);
    std::uint64_t one = 0;
    if (ring.try_pop(one)) REQUIRE(one == next_out++);
  }
  std::uint64_t rest = 0;
  while (ring.try_pop(rest)) REQUIRE(rest == next_out++);
  CHECK(next_out == next_in);
  CHECK(next_out > 100);
  CHECK(ring.empty());  // exact once the consumer has caught up
}
