#include "storage/sync_timer.hpp"

#include <algorithm>

#include "storage/durable_partition.hpp"

namespace rill::storage {

SyncTimer::~SyncTimer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SyncTimer::add(DurablePartition* partition, std::chrono::milliseconds interval) {
  std::lock_guard lock(mutex_);
  entries_.push_back(Entry{partition, interval, Clock::now() + interval});
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  wake_.notify_all();  // the new entry may be due before the thread's current wait ends
}

void SyncTimer::remove(DurablePartition* partition) noexcept {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const Entry& e) { return e.partition == partition; });
}

void SyncTimer::run() noexcept {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (entries_.empty()) {
      wake_.wait(lock);
      continue;
    }
    // A copy: add() may reallocate entries_ while the wait has the lock released.
    const Clock::time_point due =
        std::min_element(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
          return a.due < b.due;
        })->due;
    if (wake_.wait_until(lock, due) == std::cv_status::no_timeout) continue;
    const Clock::time_point now = Clock::now();
    for (Entry& e : entries_) {
      if (e.due > now) continue;
      e.partition->sync_unsynced();
      e.due = now + e.interval;
    }
  }
}

}  // namespace rill::storage
