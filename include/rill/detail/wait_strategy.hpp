// Wait strategies for rill's rings: how a thread that cannot make progress
// (ring empty for a reader, ring full for a writer) passes the time until it
// can, or until a deadline.
//
// Design
// - A strategy is a small object shared by the two sides of one ring. The side
//   that waits calls `wait_until(ready, deadline)`, where `ready()` is a cheap,
//   repeatable attempt (usually the ring's own try_pop / try_push, or a check
//   that "position P is published"). It returns true as soon as one call of
//   `ready()` returned true, false when the deadline passed first.
// - The side that makes progress calls `notify()` after its release store
//   (publish or consume). For BusySpin and SpinThenYield `notify()` is empty
//   and inlines away, so the hot path pays nothing.
// - BlockingWait sleeps in the kernel (futex on Linux, the mechanism behind
//   std::atomic::wait) after a short spin. C++20's atomic::wait has no
//   timeout, so the futex is called directly with an absolute deadline on
//   CLOCK_MONOTONIC, which is steady_clock on Linux.
// - A notifier only makes a system call when a sleeper is registered
//   (`sleepers_ != 0`). The ordering that makes this safe (both sides do a
//   read-modify-write of sleepers_) is explained at BlockingWait::notify().
// - The reader chooses the strategy; the writer only ever calls notify().
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <thread>

#include "rill/detail/cache.hpp"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

namespace rill::detail {

using WaitClock = std::chrono::steady_clock;
using Deadline = WaitClock::time_point;

// A deadline that never passes: the wait lasts until ready() is true.
inline constexpr Deadline kNoDeadline = Deadline::max();

// Returns the deadline `timeout` from now (saturating at kNoDeadline).
template <class Rep, class Period>
[[nodiscard]] inline Deadline deadline_after(std::chrono::duration<Rep, Period> timeout) noexcept {
  const auto now = WaitClock::now();
  // Compared in floating point first: a huge timeout must not overflow the
  // conversion to the clock's nanoseconds.
  using Seconds = std::chrono::duration<double>;
  if (Seconds(timeout) >= Seconds(kNoDeadline - now)) return kNoDeadline;
  return now + std::chrono::duration_cast<WaitClock::duration>(timeout);
}

// One CPU hint for a spin iteration: lets the sibling hyper-thread run and
// saves power without giving up the time slice.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Tries ready() up to `spins` times with a pause hint between tries: the
// short spin the yielding and blocking strategies start with.
template <class Ready>
[[nodiscard]] bool spin_for(unsigned spins, Ready& ready) noexcept(noexcept(ready())) {
  for (unsigned i = 0; i < spins; ++i) {
    if (ready()) return true;
    cpu_relax();
  }
  return false;
}

// Spins on ready() with a pause hint. Lowest latency; burns a core. The clock
// is read only every kClockEvery spins to keep the loop short.
class BusySpin {
 public:
  static constexpr unsigned kClockEvery = 256;

  template <class Ready>
  [[nodiscard]] bool wait_until(Ready&& ready, Deadline deadline) noexcept(noexcept(ready())) {
    for (unsigned spins = 1;; ++spins) {
      if (ready()) return true;
      if (spins % kClockEvery == 0 && WaitClock::now() >= deadline) return ready();
      cpu_relax();
    }
  }

  void notify() noexcept {}  // nothing sleeps, nothing to wake
};

// Spins kSpinLimit times, then yields the time slice on each further attempt.
// The right choice when threads outnumber cores (the yield lets the other
// side run), at the price of a scheduler call per retry.
class SpinThenYield {
 public:
  static constexpr unsigned kSpinLimit = 64;

  template <class Ready>
  [[nodiscard]] bool wait_until(Ready&& ready, Deadline deadline) noexcept(noexcept(ready())) {
    if (spin_for(kSpinLimit, ready)) return true;
    for (;;) {
      if (ready()) return true;
      if (WaitClock::now() >= deadline) return ready();
      std::this_thread::yield();
    }
  }

  void notify() noexcept {}  // nothing sleeps, nothing to wake
};

// Spins briefly, then sleeps on a futex until notify() or the deadline.
// Many threads may wait and notify on one BlockingWait at once; a notify wakes
// every sleeper, each of which re-runs its own ready().
class BlockingWait {
 public:
  static constexpr unsigned kSpinLimit = 64;

  template <class Ready>
  [[nodiscard]] bool wait_until(Ready&& ready, Deadline deadline) noexcept(noexcept(ready())) {
    if (spin_for(kSpinLimit, ready)) return true;
    for (;;) {
      // Register before the final check (the waiter's half of the handshake
      // described at notify()). acq_rel: reads from, and so synchronizes
      // with, any notifier RMW earlier in sleepers_' modification order.
      sleepers_.fetch_add(1, std::memory_order_acq_rel);
      // acquire: pairs with the release increment in notify(); a waiter that
      // reads the new epoch also sees what the notifier published before it.
      const std::uint32_t epoch = epoch_.load(std::memory_order_acquire);
      if (ready()) {
        sleepers_.fetch_sub(1, std::memory_order_relaxed);  // bookkeeping only
        return true;
      }
      const bool timed_out = !sleep(epoch, deadline);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);  // bookkeeping only
      if (timed_out) return ready();
    }
  }

  // Called after the caller's release store that may make a waiter ready.
  // Ordering: notifier and waiter both do a read-modify-write of sleepers_
  // (the notifier adds 0), so the two RMWs are ordered in its modification
  // order. If the waiter's increment comes first, the notifier reads a
  // non-zero count and wakes it. If the notifier's RMW comes first, the
  // waiter's acq_rel increment reads from it, so the caller's publish happens
  // before the waiter's ready() check, which then succeeds instead of
  // sleeping. A waiter that registered but read the epoch before our
  // increment finds the futex word changed and returns at once, so no
  // wake-up is lost. This uses no standalone fence (ThreadSanitizer models
  // RMWs but not fences). Without a registered sleeper the cost is one
  // locked add on a line that waiters rarely write: no system call.
  void notify() noexcept {
    // acq_rel: see above; the release half orders the caller's publish
    // before this RMW for a waiter that reads from it.
    if (sleepers_.fetch_add(0, std::memory_order_acq_rel) == 0) return;
    // release: pairs with the acquire epoch_ load in wait_until().
    epoch_.fetch_add(1, std::memory_order_release);
    wake_all();
  }

 private:
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
                "the futex word must be a plain 32-bit integer");

  // Sleeps while epoch_ == epoch; false once the deadline has passed.
  bool sleep(std::uint32_t epoch, Deadline deadline) noexcept {
    if (WaitClock::now() >= deadline) return false;
#if defined(__linux__)
    timespec until{};
    timespec* until_ptr = nullptr;
    if (deadline != kNoDeadline) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          deadline.time_since_epoch()).count();
      until.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      until.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      until_ptr = &until;
    }
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
    syscall(SYS_futex, futex_word(), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, epoch, until_ptr,
            nullptr, FUTEX_BITSET_MATCH_ANY);
#else
    // Portable fallback: short sleeps until the epoch moves.
    while (epoch_.load(std::memory_order_acquire) == epoch && WaitClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
#endif
    return WaitClock::now() < deadline || epoch_.load(std::memory_order_relaxed) != epoch;
  }

  void wake_all() noexcept {
#if defined(__linux__)
    syscall(SYS_futex, futex_word(), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, nullptr, nullptr,
            0);
#endif
  }

  std::uint32_t* futex_word() noexcept { return reinterpret_cast<std::uint32_t*>(&epoch_); }

  // Written by notifiers (increment), read by waiters; the futex word.
  std::atomic<std::uint32_t> epoch_{0};
  // Number of threads between registration and wake-up; written by waiters,
  // read by notifiers. On its own line so that notify()'s load stays a hit.
  alignas(kCacheLine) std::atomic<std::uint32_t> sleepers_{0};
};

// The blocking form of a ring operation: tries `attempt` once, then waits
// with `wait` until it succeeds or `deadline` passes (false). On success it
// calls wait.notify() so that a peer blocked on the same strategy object
// wakes; the rings' try_ forms never notify, so a BlockingWait needs the
// blocking forms on both sides.
template <class Wait, class Attempt>
[[nodiscard]] bool retry_then_notify(Wait& wait, Deadline deadline, Attempt&& attempt) {
  const bool done = attempt() || wait.wait_until(attempt, deadline);
  if (done) wait.notify();
  return done;
}

}  // namespace rill::detail
