// Unit tests of MpscRing's producer lanes: per-producer order, bursts
// between lanes, full lanes, lane hand-over, lifetimes, noexcept.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/detail/mpsc_ring.hpp"
#include "rill/error.hpp"
#include "ring_test_util.hpp"

namespace {

using rill::detail::MpscRing;
using rill::test::Counted;
using rill::test::drain;
using rill::test::range;
using Ring = MpscRing<int>;


// The items of `all` for which keep(item) holds, in their order.
template <class Keep>
std::vector<int> only(const std::vector<int>& all, Keep keep) {
  std::vector<int> out;
  for (int v : all) {
    if (keep(v)) out.push_back(v);
  }
  return out;
}

}  // namespace

TEST_CASE("mpsc ring: each producer's items come out in its order", "[ring]") {
  Ring ring(1024);
  auto a = ring.make_producer();
  auto b = ring.make_producer();
  for (int i = 0; i < 600; ++i) {
    REQUIRE(a.try_push(i));
    REQUIRE(b.try_push(10'000 + i));
    REQUIRE(ring.try_push(20'000 + i));  // the shared lane
  }
  CHECK(ring.size() == 1800);
  const std::vector<int> out = drain(ring);
  REQUIRE(out.size() == 1800);
  CHECK(only(out, [](int v) { return v < 10'000; }) == range(0, 600));
  CHECK(only(out, [](int v) { return v >= 10'000 && v < 20'000; }) == range(10'000, 600));
  CHECK(only(out, [](int v) { return v >= 20'000; }) == range(20'000, 600));
  CHECK(ring.empty());
}

TEST_CASE("mpsc ring: the consumer takes a burst from a lane, then the next lane", "[ring]") {
  Ring ring(1024);
  auto a = ring.make_producer();
  auto b = ring.make_producer();
  for (int i = 0; i < 2 * static_cast<int>(Ring::kBurst); ++i) {
    REQUIRE(a.try_push(0));
    REQUIRE(b.try_push(1));
  }
  const std::vector<int> out = drain(ring);
  REQUIRE(out.size() == 4 * Ring::kBurst);
  // Lane a, lane b, (the shared lane, empty), lane a, lane b.
  for (std::size_t i = 0; i < out.size(); ++i) {
    CHECK(out[i] == static_cast<int>((i / Ring::kBurst) % 2));
  }
}

TEST_CASE("mpsc ring: a full lane refuses a push and leaves the other lanes alone", "[ring]") {
  Ring ring(4);
  CHECK(ring.capacity() == 4);
  auto a = ring.make_producer();
  auto b = ring.make_producer();
  int pushed = 0;
  while (a.try_push(pushed)) ++pushed;
  CHECK(pushed >= 4);
  CHECK(b.try_push(-1));
  CHECK(ring.try_push(-2));
  const std::vector<int> out = drain(ring);
  CHECK(only(out, [](int v) { return v >= 0; }) == range(0, pushed));
  CHECK(only(out, [](int v) { return v == -1; }) == std::vector<int>{-1});
  CHECK(only(out, [](int v) { return v == -2; }) == std::vector<int>{-2});
  CHECK(a.try_push(100));
  CHECK(drain(ring) == std::vector<int>{100});
}

TEST_CASE("mpsc ring: max_producers handles at once, and a released lane is reused", "[ring]") {
  Ring ring(8, 2);
  CHECK(ring.max_producers() == 2);
  auto a = ring.make_producer();
  {
    auto b = ring.make_producer();
    CHECK_THROWS_AS(ring.make_producer(), rill::Error);
    REQUIRE(b.try_push(1));
    REQUIRE(b.try_push(2));
  }  // b's lane is free again; its items stay
  auto c = ring.make_producer();  // takes b's lane, after b's items
  REQUIRE(c.try_push(3));
  CHECK(drain(ring) == std::vector<int>{1, 2, 3});
  CHECK_THROWS_AS(ring.make_producer(), rill::Error);
  Ring::Producer moved = std::move(a);
  REQUIRE(moved.try_push(4));
  CHECK(drain(ring) == std::vector<int>{4});
  CHECK_THROWS_AS(Ring(8, 0), rill::Error);
}

TEST_CASE("mpsc ring: items left in lanes are destroyed exactly once", "[ring]") {
  Counted::alive = 0;
  Counted::bad_destroys = 0;
  {
    MpscRing<Counted> ring(4);
    auto a = ring.make_producer();
    REQUIRE(a.try_emplace(1));
    REQUIRE(a.try_emplace(2));
    REQUIRE(ring.try_emplace(3));
    Counted out;
    REQUIRE(ring.try_pop(out));
    CHECK((out.value == 1 || out.value == 3));
    CHECK(Counted::alive == 3);
  }
  CHECK(Counted::alive == 0);
  CHECK(Counted::bad_destroys == 0);
}

TEST_CASE("mpsc ring: a producer's noexcept follows the element type", "[ring]") {
  MpscRing<int> ints(2);
  MpscRing<std::string> strings(2);
  auto i_producer = ints.make_producer();
  auto s_producer = strings.make_producer();
  int i = 0;
  std::string s;
  STATIC_REQUIRE(noexcept(i_producer.try_push(i)));
  STATIC_REQUIRE(noexcept(i_producer.try_emplace(1)));
  STATIC_REQUIRE(noexcept(s_producer.try_push(std::move(s))));
  STATIC_REQUIRE_FALSE(noexcept(s_producer.try_push(s)));
  STATIC_REQUIRE(noexcept(strings.try_pop(s)));
}
