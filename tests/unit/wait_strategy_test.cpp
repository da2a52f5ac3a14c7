// Tests of the ring wait strategies: immediate success, timeouts, wake-ups.
#include <atomic>
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "rill/detail/wait_strategy.hpp"

namespace {

using rill::detail::BlockingWait;
using rill::detail::BusySpin;
using rill::detail::Deadline;
using rill::detail::deadline_after;
using rill::detail::kNoDeadline;
using rill::detail::SpinThenYield;
using rill::detail::WaitClock;
using namespace std::chrono_literals;

template <class Wait>
void check_ready_at_once() {
  Wait wait;
  int calls = 0;
  REQUIRE(wait.wait_until([&] { return ++calls == 1; }, kNoDeadline));
  CHECK(calls == 1);
}

template <class Wait>
void check_times_out() {
  Wait wait;
  int calls = 0;
  const Deadline deadline = deadline_after(20ms);
  REQUIRE_FALSE(wait.wait_until([&] { return ++calls < 0; }, deadline));
  CHECK(WaitClock::now() >= deadline);
  CHECK(calls > 0);
}

template <class Wait>
void check_sees_a_later_publish() {
  Wait wait;
  std::atomic<bool> published{false};
  std::thread producer([&] {
    std::this_thread::sleep_for(5ms);
    published.store(true, std::memory_order_release);
    wait.notify();
  });
  CHECK(wait.wait_until([&] { return published.load(std::memory_order_acquire); }, kNoDeadline));
  producer.join();
}

}  // namespace

TEST_CASE("wait strategies: a ready condition returns at once", "[wait][ring]") {
  check_ready_at_once<BusySpin>();
  check_ready_at_once<SpinThenYield>();
  check_ready_at_once<BlockingWait>();
}

TEST_CASE("wait strategies: a condition that never holds times out at the deadline",
          "[wait][ring]") {
  check_times_out<BusySpin>();
  check_times_out<SpinThenYield>();
  check_times_out<BlockingWait>();
}

TEST_CASE("wait strategies: a deadline already past still tries once", "[wait][ring]") {
  BlockingWait wait;
  int calls = 0;
  CHECK_FALSE(wait.wait_until([&] { return ++calls < 0; }, WaitClock::now() - 1s));
  CHECK(calls >= 1);
  CHECK(BusySpin{}.wait_until([] { return true; }, WaitClock::now() - 1s));
}

TEST_CASE("wait strategies: a publish from another thread ends the wait", "[wait][ring]") {
  check_sees_a_later_publish<BusySpin>();
  check_sees_a_later_publish<SpinThenYield>();
  check_sees_a_later_publish<BlockingWait>();
}

TEST_CASE("blocking wait: many sleepers are all woken by one notify", "[wait][ring]") {
  BlockingWait wait;
  std::atomic<int> stage{0};
  std::atomic<int> woken{0};
  std::thread sleepers[3];
  for (auto& sleeper : sleepers) {
    sleeper = std::thread([&] {
      if (wait.wait_until([&] { return stage.load(std::memory_order_acquire) == 1; },
                          deadline_after(10s))) {
        woken.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(20ms);  // let them reach the futex (not required for correctness)
  stage.store(1, std::memory_order_release);
  wait.notify();
  for (auto& sleeper : sleepers) sleeper.join();
  CHECK(woken.load() == 3);
}

TEST_CASE("blocking wait: notify without sleepers returns and wakes nobody later",
          "[wait][ring]") {
  BlockingWait wait;
  for (int i = 0; i < 1000; ++i) wait.notify();
  int calls = 0;
  CHECK_FALSE(wait.wait_until([&] { return ++calls < 0; }, deadline_after(5ms)));
}

TEST_CASE("wait strategies: deadline_after saturates instead of overflowing", "[wait][ring]") {
  CHECK(deadline_after(std::chrono::hours::max()) == kNoDeadline);
  CHECK(deadline_after(1s) > WaitClock::now());
}

TEST_CASE("wait strategies: notify is noexcept and waits inherit the predicate's noexcept",
          "[wait][ring]") {
  BusySpin spin;
  SpinThenYield yield;
  BlockingWait block;
  auto nothrow_ready = []() noexcept { return true; };
  STATIC_REQUIRE(noexcept(spin.notify()));
  STATIC_REQUIRE(noexcept(yield.notify()));
  STATIC_REQUIRE(noexcept(block.notify()));
  STATIC_REQUIRE(noexcept(block.wait_until(nothrow_ready, kNoDeadline)));
  auto throwing_ready = [] { return true; };
  STATIC_REQUIRE_FALSE(noexcept(spin.wait_until(throwing_ready, kNoDeadline)));
}
