#include "storage/record_cursor.hpp"

#include <algorithm>

namespace rill::storage {

bool RecordCursor::next(codec::DecodedRecord& out) noexcept {
  if (damaged_) return false;
  while (index_ < batches_.size()) {
    if (!open_) {
      records_ = codec::RecordReader(batches_[index_]);
      open_ = true;
    }
    const codec::DecodeStatus status = records_.next(out);
    if (status == codec::DecodeStatus::ok) {
      if (out.offset < next_offset_) continue;  // read before (a read from the middle of this batch)
      next_offset_ = out.offset + 1;
      return true;
    }
    if (status == codec::DecodeStatus::corrupt) {
      damaged_ = true;
      return false;
    }
    skip_batch();  // read to its end: compaction may have removed its last offsets
  }
  return false;
}

void RecordCursor::skip_batch() noexcept {
  if (batch() == nullptr) return;
  next_offset_ = std::max(next_offset_, batches_[index_].next_offset());
  ++index_;
  open_ = false;
}

}  // namespace rill::storage
