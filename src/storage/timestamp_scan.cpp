#include "storage/timestamp_scan.hpp"

#include <algorithm>

#include "storage/record_cursor.hpp"

namespace rill::storage {
namespace {

// Bytes per read: a durable read hands out spans into the mapping, a memory
// read without a gate copies them.
constexpr std::size_t kScanReadBytes = std::size_t{256} << 10;

}  // namespace

std::int64_t scan_for_timestamp(Partition& partition, std::int64_t from, std::int64_t timestamp_ms) {
  // The end when the scan starts: records appended later are not waited for.
  const Positions at_start = partition.positions();
  const std::int64_t end = at_start.log_end;
  std::int64_t offset = from == Partition::kEarliest ? at_start.log_start : std::clamp(from, at_start.log_start, end);
  ReadLease lease;
  codec::DecodedRecord d;
  while (offset < end) {
    if (partition.read(offset, kScanReadBytes, lease, ReadOptions{}) != ReadStatus::ok) {
      return std::max(offset, lease.from_offset());  // damaged storage, or nothing more
    }
    RecordCursor cursor(lease);
    while (const codec::BatchView* batch = cursor.batch()) {
      if (batch->max_timestamp() < timestamp_ms) {
        cursor.skip_batch();  // no record late enough: not decoded
        continue;
      }
      if (cursor.next(d)) {
        if (d.timestamp >= timestamp_ms) return d.offset;
        continue;
      }
      if (!cursor.damaged()) break;
      cursor = RecordCursor(lease.batches().subspan(1 + static_cast<std::size_t>(batch - lease.batches().data())),
                            batch->next_offset());  // a damaged record: the scan steps over its batch
    }
    if (cursor.next_offset() <= offset) break;  // no progress: stop rather than spin
    offset = cursor.next_offset();
  }
  return offset;
}

}  // namespace rill::storage
