// The earliest offset whose record timestamp is at or after a given time,
// found by reading a partition's batches (memory_partition.cpp and
// durable_partition.cpp use it for Partition::offset_for_timestamp).
#pragma once

#include <cstdint>

#include "storage/partition.hpp"

namespace rill::storage {

// Reads `partition` from `from` (an offset, or Partition::kEarliest) with
// read() and a RecordCursor: skips every batch whose max timestamp is before
// `timestamp_ms` (without decoding it), then returns the offset of the first
// record of the next batch with timestamp >= `timestamp_ms`. Returns the
// offset reached (the end) when no record qualifies; stops in front of
// damaged storage, and steps over a batch holding a damaged record.
[[nodiscard]] std::int64_t scan_for_timestamp(Partition& partition, std::int64_t from,
                                              std::int64_t timestamp_ms);

}  // namespace rill::storage
