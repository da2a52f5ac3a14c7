// SpinLock: a tiny test-and-test-and-set lock, the library's one spin lock:
// a producer's per-partition accumulator (held for the encoding of one
// record or the append of one batch) and a memory partition's append claim
// (held for the copy of one batch). Waiting briefly beats a system call;
// after a while it yields.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "rill/detail/wait_strategy.hpp"

namespace rill::base {

class SpinLock {
 public:
  void lock() noexcept {
    for (unsigned spins = 0;; ++spins) {
      // acquire: pairs with the release in unlock(); the previous holder's
      // writes to the guarded data are visible.
      if (!held_.exchange(true, std::memory_order_acquire)) return;
      // relaxed: a hint of when to retry the exchange.
      while (held_.load(std::memory_order_relaxed)) {
        if (++spins < 256) {
          detail::cpu_relax();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  [[nodiscard]] bool try_lock() noexcept {
    // relaxed load first: do not take the line exclusively when it is held.
    return !held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept {
    held_.store(false, std::memory_order_release);  // pairs with the acquire in lock()
  }

 private:
  std::atomic<bool> held_{false};
};

}  // namespace rill::base
