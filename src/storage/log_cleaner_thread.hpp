// LogCleanerThread: the node thread that compacts the partitions of
// CleanupPolicy::compact topics (and __consumer_offsets) off the producers'
// path. The pass itself is log::SegmentLog::compact (log/log_cleaner.hpp).
//
// Design
// - One thread per node, started when the first partition registers; it
//   wakes every check_interval (or at wake()) and runs a pass on each
//   partition that closed a segment since its last pass (every partition is
//   due once after it registers, so a pass also runs at open).
// - Passes run without the thread's mutex, one partition at a time. A pass
//   takes the partition's writer mutex only to swap segment pointers, so
//   producers keep appending while it copies.
// - remove() (a partition's destructor) raises the stop flag when that
//   partition's pass is running and waits until it returns; the pass checks
//   the flag between batches, so Node close is prompt. The destructor stops
//   the thread the same way.
// - A failed pass (I/O error, damaged segment) writes one line to stderr
//   and is retried at the partition's next roll; producers are unaffected.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace rill::storage {

class DurablePartition;

class LogCleanerThread {
 public:
  explicit LogCleanerThread(std::chrono::milliseconds check_interval = std::chrono::milliseconds(200))
      : check_interval_(check_interval) {}
  ~LogCleanerThread();  // stops a running pass and joins the thread
  LogCleanerThread(const LogCleanerThread&) = delete;
  LogCleanerThread& operator=(const LogCleanerThread&) = delete;

  // Compacts `partition` whenever it is due, until remove(). Starts the
  // thread on first use (throws std::system_error if it cannot).
  void add(DurablePartition* partition);
  // Stops compacting `partition`; stops and waits for its running pass.
  void remove(DurablePartition* partition) noexcept;
  // Checks every partition now instead of at the next interval.
  void wake() noexcept;
  // Checks of all partitions completed so far (each check runs the passes
  // that were due). Tests wait for it to move.
  [[nodiscard]] std::uint64_t rounds() const noexcept;

 private:
  void run() noexcept;

  const std::chrono::milliseconds check_interval_;
  mutable std::mutex mutex_;  // guards everything below but stop_pass_
  std::condition_variable wake_;     // the thread waits here for its next round
  std::condition_variable pass_done_;  // remove() waits here for a running pass
  std::vector<DurablePartition*> partitions_;
  DurablePartition* running_ = nullptr;  // whose pass runs now (outside the mutex)
  bool stop_ = false;
  bool woken_ = false;
  std::uint64_t rounds_ = 0;
  // Raised by remove() / the destructor for the running pass; the pass
  // polls it (relaxed) between batches.
  std::atomic<bool> stop_pass_{false};
  std::thread thread_;
};

}  // namespace rill::storage
