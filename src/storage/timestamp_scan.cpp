#include "storage/timestamp_scan.hpp"

namespace rill::storage {

std::int64_t scan_for_timestamp(Partition& partition, std::int64_t from, std::int64_t timestamp_ms) {
  std::unique_ptr<PartitionReader> reader = partition.open_reader(from);
  // The end when the scan starts: records appended later are not waited for.
  const std::int64_t end = partition.end_offset();
  codec::BatchView batch;
  codec::DecodedRecord d;
  while (reader->position() < end) {
    reader->begin_poll();
    std::int64_t lost_from = 0;
    std::int64_t lost = 0;
    if (!reader->next_batch(batch, lost_from, lost)) break;
    const std::int64_t position = reader->position();
    if (batch.max_timestamp() >= timestamp_ms) {
      codec::RecordReader records(batch);
      while (records.next(d) == codec::DecodeStatus::ok) {
        if (d.offset >= position && d.timestamp >= timestamp_ms) return d.offset;
      }
    }
    reader->consumed(batch.next_offset());
    if (reader->position() == position) break;  // no progress: stop rather than spin
  }
  return reader->position();
}

}  // namespace rill::storage
