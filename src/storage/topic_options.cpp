#include "storage/topic_options.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "log/file_system.hpp"
#include "rill/error.hpp"

namespace rill::storage {
namespace {

// Bytes of framing around the largest record in its own batch: batch
// header, frame header and alignment, with room to spare.
constexpr std::size_t kBatchOverhead = 128;
constexpr std::size_t kDefaultSegmentBytes = std::size_t{64} << 20;

[[noreturn]] void bad(std::string_view name, std::string_view what) {
  throw Error(ErrorCode::invalid_argument, fmt::format("topic \"{}\": {}", name, what));
}

void check_partitions(std::string_view name, const TopicOptions& o) {
  if (o.partitions < 1 || o.partitions > TopicOptions::kMaxPartitions) {
    bad(name, fmt::format("partitions = {}: must be between 1 and {}", o.partitions, TopicOptions::kMaxPartitions));
  }
}

void check_memory(std::string_view name, TopicOptions& o) {
  if (o.max_record_bytes == 0 && o.capacity_bytes >= TopicOptions::kMinCapacityBytes) {
    o.max_record_bytes = std::min<std::size_t>(1 << 20, o.capacity_bytes / 2 - kBatchOverhead);
  }
  check_partitions(name, o);
  if (o.capacity_bytes < TopicOptions::kMinCapacityBytes) {
    bad(name, fmt::format("capacity_bytes = {}: must be at least {}", o.capacity_bytes,
                          TopicOptions::kMinCapacityBytes));
  }
  if (o.max_record_bytes < 64) bad(name, fmt::format("max_record_bytes = {}: must be at least 64", o.max_record_bytes));
  if (o.max_record_bytes > (std::size_t{1} << 29) || o.capacity_bytes / 2 < o.max_record_bytes + kBatchOverhead) {
    bad(name, fmt::format("capacity_bytes = {} cannot hold two of the largest batches (max_record_bytes = {} "
                          "+ {} bytes of framing, twice): raise capacity_bytes to at least {} or lower "
                          "max_record_bytes",
                          o.capacity_bytes, o.max_record_bytes, kBatchOverhead,
                          2 * (o.max_record_bytes + kBatchOverhead)));
  }
}

void check_durable(std::string_view name, TopicOptions& o) {
  if (o.segment_bytes == 0) o.segment_bytes = kDefaultSegmentBytes;
  check_partitions(name, o);
  if (o.segment_bytes % 4096 != 0 || o.segment_bytes < TopicOptions::kMinSegmentBytes ||
      o.segment_bytes > TopicOptions::kMaxSegmentBytes) {
    bad(name, fmt::format("segment_bytes = {}: must be a multiple of 4096 between {} and {}", o.segment_bytes,
                          TopicOptions::kMinSegmentBytes, TopicOptions::kMaxSegmentBytes));
  }
  if (o.max_record_bytes == 0) o.max_record_bytes = std::min<std::size_t>(1 << 20, o.segment_bytes / 2 - kBatchOverhead);
  if (o.max_record_bytes < 64) bad(name, fmt::format("max_record_bytes = {}: must be at least 64", o.max_record_bytes));
  if (o.segment_bytes / 2 < o.max_record_bytes + kBatchOverhead) {
    bad(name, fmt::format("segment_bytes = {} cannot hold two of the largest batches (max_record_bytes = {} + {} "
                          "bytes of framing, twice): raise segment_bytes or lower max_record_bytes",
                          o.segment_bytes, o.max_record_bytes, kBatchOverhead));
  }
  if (o.full_policy == FullPolicy::overwrite) {
    bad(name, "full_policy = overwrite is for memory topics: a durable topic is never full; bound it with "
              "retention_bytes or retention_ms");
  }
  if (o.retention_ms.count() < 0) bad(name, "retention_ms must not be negative (0 means no age limit)");
  if (o.tombstone_retention.count() < 0) bad(name, "tombstone_retention must not be negative");
  if (o.fsync == FsyncPolicy::interval && o.fsync_interval.count() <= 0) {
    bad(name, "fsync_interval must be positive under FsyncPolicy::interval");
  }
}

}  // namespace

TopicOptions resolve_topic_options(std::string_view name, const TopicOptions& requested, StorageKind rules) {
  TopicOptions o = requested;
  if (rules == StorageKind::durable) {
    check_durable(name, o);
  } else {
    check_memory(name, o);
  }
  if (o.block_timeout.count() < 0) bad(name, "block_timeout must not be negative");
  return o;
}

std::string partition_dir(const std::string& dir, const std::string& topic, int partition) {
  return log::join_path(dir, fmt::format("{}-{}", topic, partition));
}

}  // namespace rill::storage
