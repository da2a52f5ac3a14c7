#include "storage/log_cleaner_thread.hpp"

#include <algorithm>

#include "storage/durable_partition.hpp"

namespace rill::storage {

LogCleanerThread::~LogCleanerThread() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    // relaxed: a request; the pass reads it between batches.
    stop_pass_.store(true, std::memory_order_relaxed);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogCleanerThread::add(DurablePartition* partition) {
  std::lock_guard lock(mutex_);
  partitions_.push_back(partition);
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void LogCleanerThread::remove(DurablePartition* partition) noexcept {
  std::unique_lock lock(mutex_);
  std::erase(partitions_, partition);
  if (running_ != partition) return;
  // relaxed: see the destructor.
  stop_pass_.store(true, std::memory_order_relaxed);
  pass_done_.wait(lock, [&] { return running_ != partition; });
}

void LogCleanerThread::wake() noexcept {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

std::uint64_t LogCleanerThread::rounds() const noexcept {
  std::lock_guard lock(mutex_);
  return rounds_;
}

void LogCleanerThread::run() noexcept {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, check_interval_, [&] { return stop_ || woken_; });
    woken_ = false;
    // The list may change while a pass runs (the mutex is released): walk
    // it by index; a partition skipped by a removal is checked next round.
    for (std::size_t i = 0; i < partitions_.size() && !stop_; ++i) {
      DurablePartition* const partition = partitions_[i];
      running_ = partition;
      lock.unlock();
      // remove() waits for running_ to change, so the partition lives.
      if (partition->compaction_due()) (void)partition->compact(stop_pass_);
      lock.lock();
      running_ = nullptr;
      if (!stop_) stop_pass_.store(false, std::memory_order_relaxed);  // relaxed: see above
      pass_done_.notify_all();
    }
    ++rounds_;
  }
}

}  // namespace rill::storage
