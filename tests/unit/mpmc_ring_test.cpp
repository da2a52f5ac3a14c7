// Unit tests of MpmcRing and of MpscRing's pushes without a handle (its
// shared lane; the producer lanes are in mpsc_ring_test.cpp): order,
// full/empty edges, wrap of the slots and of the 64-bit positions,
// lifetimes, blocking forms, noexcept.
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/detail/mpmc_ring.hpp"
#include "rill/detail/mpsc_ring.hpp"
#include "rill/error.hpp"
#include "ring_test_util.hpp"

namespace {

using rill::detail::BlockingWait;
using rill::detail::BusySpin;
using rill::detail::deadline_after;
using rill::detail::MpmcRing;
using rill::detail::MpscRing;
using rill::detail::SpinThenYield;
using namespace std::chrono_literals;

using rill::test::Counted;
using rill::test::drain;
using rill::test::range;

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();


}  // namespace

TEMPLATE_TEST_CASE("mpmc ring: capacity is rounded up to a power of two", "[ring]",
                   MpmcRing<int>, MpscRing<int>) {
  CHECK(TestType(1).capacity() == 2);  // one slot cannot tell full from free
  CHECK(TestType(3).capacity() == 4);
  CHECK(TestType(64).capacity() == 64);
  CHECK_THROWS_AS(TestType(0), rill::Error);
}

TEMPLATE_TEST_CASE("mpmc ring: items come out in the order they went in", "[ring]",
                   MpmcRing<int>, MpscRing<int>) {
  TestType ring(8);
  CHECK(ring.empty());
  for (int i = 0; i < 6; ++i) REQUIRE(ring.try_push(i));
  CHECK(ring.size() == 6);
  CHECK(drain(ring) == range(0, 6));
  CHECK(ring.empty());
}

TEMPLATE_TEST_CASE("mpmc ring: an exactly full ring refuses a push", "[ring]", MpmcRing<int>,
                   MpscRing<int>) {
  TestType ring(4);
  for (int i = 0; i < 4; ++i) REQUIRE(ring.try_push(i));
  CHECK_FALSE(ring.try_push(4));
  CHECK(ring.size() == 4);
  int out = -1;
  REQUIRE(ring.try_pop(out));
  CHECK(out == 0);
  CHECK(ring.try_push(4));
  CHECK_FALSE(ring.try_push(5));
  CHECK(drain(ring) == range(1, 4));
}

TEMPLATE_TEST_CASE("mpmc ring: a full ring takes one push per pop, lap after lap", "[ring]",
                   MpmcRing<int>, MpscRing<int>) {
  TestType ring(4);
  ring.reset_positions_for_test(kMax - 5);
  int next_in = 0;
  for (; next_in < 4; ++next_in) REQUIRE(ring.try_push(next_in));
  for (int expected = 0; expected < 20; ++expected) {
    CHECK_FALSE(ring.try_push(-1));
    int out = -1;
    REQUIRE(ring.try_pop(out));
    CHECK(out == expected);
    REQUIRE(ring.try_push(next_in++));
  }
  CHECK(drain(ring) == range(20, 4));
  int out = -1;
  CHECK_FALSE(ring.try_pop(out));  // a slot of an earlier lap is not an item
}

TEST_CASE("mpmc ring: a refused push does not move from its argument", "[ring]") {
  MpmcRing<std::unique_ptr<int>> ring(2);
  REQUIRE(ring.try_push(std::make_unique<int>(1)));
  REQUIRE(ring.try_push(std::make_unique<int>(1)));
  auto extra = std::make_unique<int>(2);
  CHECK_FALSE(ring.try_push(std::move(extra)));
  REQUIRE(extra != nullptr);
  CHECK(*extra == 2);
}

TEMPLATE_TEST_CASE("mpmc ring: positions just before the slot wrap keep order", "[ring]",
                   MpmcRing<int>, MpscRing<int>) {
  TestType ring(8);
  ring.reset_positions_for_test(6);
  for (int i = 0; i < 8; ++i) REQUIRE(ring.try_push(i));
  CHECK_FALSE(ring.try_push(8));
  CHECK(drain(ring) == range(0, 8));
  for (int i = 0; i < 3; ++i) REQUIRE(ring.try_push(10 + i));
  CHECK(drain(ring) == range(10, 3));
}

TEMPLATE_TEST_CASE("mpmc ring: the 64-bit positions may wrap around", "[ring]", MpmcRing<int>,
                   MpscRing<int>) {
  TestType ring(4);
  ring.reset_positions_for_test(kMax - 2);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) REQUIRE(ring.try_push(round * 10 + i));
    CHECK_FALSE(ring.try_push(-1));
    CHECK(ring.size() == 4);
    CHECK(drain(ring) == range(round * 10, 4));
    int out = 0;
    CHECK_FALSE(ring.try_pop(out));
  }
}

TEST_CASE("mpmc ring: every element is destroyed exactly once", "[ring]") {
  Counted::alive = 0;
  Counted::bad_destroys = 0;
  {
    MpmcRing<Counted> ring(4);
    ring.reset_positions_for_test(2);
    for (int i = 0; i < 4; ++i) REQUIRE(ring.try_emplace(i));
    CHECK(Counted::alive == 4);
    Counted out;
    REQUIRE(ring.try_pop(out));
    CHECK(out.value == 0);
    CHECK(Counted::alive == 3 + 1);
    const Counted copy(7);
    REQUIRE(ring.try_push(copy));
    CHECK(Counted::alive == 4 + 2);
  }  // the destructor destroys the 4 items still in the ring
  CHECK(Counted::alive == 0);
  CHECK(Counted::bad_destroys == 0);
  {
    MpscRing<Counted> ring(2);
    REQUIRE(ring.try_emplace(1));
  }
  CHECK(Counted::alive == 0);
  CHECK(Counted::bad_destroys == 0);
}

TEMPLATE_TEST_CASE("mpmc ring: blocking pop and push time out with each wait strategy",
                   "[ring][wait]", MpmcRing<int>, MpscRing<int>) {
  TestType ring(2);
  int out = 0;
  BusySpin spin;
  SpinThenYield yield;
  BlockingWait block;
  CHECK_FALSE(ring.pop(out, spin, deadline_after(5ms)));
  CHECK_FALSE(ring.pop(out, yield, deadline_after(5ms)));
  CHECK_FALSE(ring.pop(out, block, deadline_after(5ms)));
  REQUIRE(ring.push(1, block, deadline_after(5ms)));
  REQUIRE(ring.push(1, block, deadline_after(5ms)));
  CHECK_FALSE(ring.push(2, spin, deadline_after(5ms)));
  CHECK_FALSE(ring.push(2, yield, deadline_after(5ms)));
  CHECK_FALSE(ring.push(2, block, deadline_after(5ms)));
  REQUIRE(ring.pop(out, block, deadline_after(5ms)));
  CHECK(out == 1);
  REQUIRE(ring.push(3, spin, deadline_after(5ms)));
  CHECK(drain(ring) == std::vector<int>{1, 3});
}

TEST_CASE("mpmc ring: noexcept follows the element type", "[ring]") {
  MpmcRing<int> ints(2);
  MpscRing<std::string> strings(2);
  int i = 0;
  std::string s;
  STATIC_REQUIRE(noexcept(ints.try_push(i)));
  STATIC_REQUIRE(noexcept(ints.try_pop(i)));
  STATIC_REQUIRE(noexcept(ints.try_emplace(1)));
  STATIC_REQUIRE(noexcept(strings.try_push(std::move(s))));
  STATIC_REQUIRE_FALSE(noexcept(strings.try_push(s)));
  STATIC_REQUIRE(noexcept(strings.try_pop(s)));
  STATIC_REQUIRE(noexcept(ints.size()));
}
