// SyncTimer: the node thread that bounds how long a record of a durable
// topic under FsyncPolicy::interval stays unsynced.
//
// Design
// - An append under the interval policy syncs when the last sync is older
//   than fsync_interval, but an idle partition would then keep its last
//   appends unsynced until the next one. The timer closes that gap: every
//   registered partition is visited once per its interval and synced when it
//   holds appended records that are not durable yet.
// - One thread per node, started when the first interval partition
//   registers; it sleeps on a condition variable until the earliest due
//   visit. A sync runs under the timer's mutex, so remove() (called by a
//   partition's destructor) waits until a visit of that partition is over.
// - The visit goes through the partition's group-commit path, so producers
//   keep appending while the fdatasync runs; a failed sync marks the log
//   failed and the next append reports it (see log/partition_log.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace rill::storage {

class DurablePartition;

class SyncTimer {
 public:
  SyncTimer() = default;
  ~SyncTimer();  // stops and joins the thread
  SyncTimer(const SyncTimer&) = delete;
  SyncTimer& operator=(const SyncTimer&) = delete;

  // Visits `partition` every `interval` until remove(). Starts the thread
  // on first use (throws std::system_error if it cannot).
  void add(DurablePartition* partition, std::chrono::milliseconds interval);
  // Stops visiting `partition`; waits for a visit in progress.
  void remove(DurablePartition* partition) noexcept;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    DurablePartition* partition;
    std::chrono::milliseconds interval;
    Clock::time_point due;
  };

  void run() noexcept;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::vector<Entry> entries_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rill::storage
