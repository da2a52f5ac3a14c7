// DurablePartition: compaction of a CleanupPolicy::compact partition by the
// node's LogCleanerThread (log_cleaner_thread.hpp, log/log_cleaner.hpp).
#include <chrono>
#include <cstdio>
#include <exception>

#include "base/clock.hpp"
#include "storage/durable_partition.hpp"

namespace rill::storage {

void DurablePartition::start_compaction(std::shared_ptr<LogCleanerThread> cleaner,
                                        std::chrono::milliseconds tombstone_retention) {
  tombstone_retention_ = tombstone_retention;
  cleaner_ = std::move(cleaner);
  cleaner_->add(this);
}

bool DurablePartition::compaction_due() const {
  // The newest base offset names the active segment; it changes at each roll.
  const std::vector<std::int64_t> bases = log_->segment_base_offsets();
  return bases.size() > 1 && bases.back() != compacted_active_base_;
}

log::CompactionResult DurablePartition::compact(const std::atomic<bool>& stop) noexcept {
  std::int64_t active_base = -1;
  try {
    active_base = log_->segment_base_offsets().back();
    log::CompactionOptions options;
    options.now_ms = base::wall_clock_ms();
    options.tombstone_retention = tombstone_retention_;
    options.stop = &stop;
    const log::CompactionResult result = log_->compact(options, writer_mutex_);
    if (!result.stopped) compacted_active_base_ = active_base;
    return result;
  } catch (const std::exception& e) {
    // Not retried until the next roll: a damaged segment would fail again.
    compacted_active_base_ = active_base;
    std::fprintf(stderr, "rill: compaction of partition %s failed: %s\n", name_.c_str(), e.what());
  } catch (...) {
    compacted_active_base_ = active_base;
    std::fprintf(stderr, "rill: compaction of partition %s failed\n", name_.c_str());
  }
  return {};
}

}  // namespace rill::storage
