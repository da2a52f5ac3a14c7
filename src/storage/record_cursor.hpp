// RecordCursor: the records of a ReadLease, decoded one at a time, from
// the offset the read started at. The one record loop a consumer poll, the
// timestamp scan and the offset-store replay share.
//
// Design
// - Records below the start offset are skipped (a read from the middle of
//   a batch hands out the whole batch). next_offset() is where the next
//   read goes on: after the last record returned, or after a batch read to
//   its end (batch.next_offset(), so a batch whose last offsets compaction
//   removed leaves no gap to read again).
// - Every record is checked as it is decoded (codec::RecordReader). At a
//   damaged record the cursor stops, next() returns false and damaged()
//   says so; next_offset() stays in front of the damaged record, so the
//   records before it are returned first and the damage is never skipped.
// - Views point into the lease's batches: valid while the lease is.
// - Allocates nothing; one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "codec/batch_reader.hpp"
#include "storage/read_lease.hpp"

namespace rill::storage {

class RecordCursor {
 public:
  explicit RecordCursor(const ReadLease& lease) noexcept
      : RecordCursor(lease.batches(), lease.from_offset()) {}
  // Over `batches` (offset order), from offset `from`.
  RecordCursor(std::span<const codec::BatchView> batches, std::int64_t from) noexcept
      : batches_(batches), next_offset_(from) {}

  // True with `out` the next record at or after next_offset(); false at the
  // end of the batches or at a damaged record (see damaged()).
  [[nodiscard]] bool next(codec::DecodedRecord& out) noexcept;
  // The offset to read next (see the Design block).
  [[nodiscard]] std::int64_t next_offset() const noexcept { return next_offset_; }

  // The batch the next record comes from, or nullptr at the end or at damage.
  [[nodiscard]] const codec::BatchView* batch() const noexcept {
    return damaged_ || index_ == batches_.size() ? nullptr : &batches_[index_];
  }
  // Steps over the rest of batch() without decoding it.
  void skip_batch() noexcept;

  // True once next() stopped at a damaged record.
  [[nodiscard]] bool damaged() const noexcept { return damaged_; }
  // For damaged(): the batch holding the damaged record, and where in it
  // (a byte offset from the batch's first byte) and why.
  [[nodiscard]] const codec::BatchView& damaged_batch() const noexcept { return batches_[index_]; }
  [[nodiscard]] const codec::DecodeError& error() const noexcept { return records_.error(); }

 private:
  std::span<const codec::BatchView> batches_;
  std::size_t index_ = 0;
  codec::RecordReader records_{codec::BatchView()};
  bool open_ = false;  // records_ walks batches_[index_]
  bool damaged_ = false;
  std::int64_t next_offset_;
};

}  // namespace rill::storage
