// FetchLease: what Broker::fetch fills: whole batches of one partition,
// pinned until the lease is fetched into again or destroyed, and the one
// record cursor over them (storage/record_cursor.hpp).
//
// A client reads records with next() and never sees a batch: decoding
// lives here. A lease is reused fetch after fetch, so a steady-state fetch
// allocates nothing. One thread at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rill/record.hpp"
#include "storage/read_lease.hpp"
#include "storage/record_cursor.hpp"

namespace rill::broker {

class LocalBroker;

class FetchLease {
 public:
  FetchLease() = default;
  FetchLease(const FetchLease&) = delete;
  FetchLease& operator=(const FetchLease&) = delete;

  // The next record at or after the fetched offset, as a view into the
  // pinned batches; false at the end of the lease or at a damaged record.
  [[nodiscard]] bool next(RecordView& out, std::string_view topic, std::int32_t partition) noexcept {
    codec::DecodedRecord d;
    if (!cursor_.next(d)) return false;
    out = codec::to_record_view(d, topic, partition);
    return true;
  }
  // True while records remain (next() has not reached the end or damage).
  [[nodiscard]] bool has_more() const noexcept { return cursor_.batch() != nullptr; }
  // The first offset of the batch next() reads from (it may still be
  // inside a batch it has read to its end), or next_offset() when none is
  // left: a gate at or below this keeps the remaining batches in place.
  [[nodiscard]] std::int64_t pinned_from() const noexcept {
    const codec::BatchView* batch = cursor_.batch();
    return batch != nullptr ? std::min(batch->base_offset(), cursor_.next_offset()) : cursor_.next_offset();
  }
  // Where the next fetch goes on: after the last record returned.
  [[nodiscard]] std::int64_t next_offset() const noexcept { return cursor_.next_offset(); }
  // The offset the fetch read from (the one asked for, or the oldest
  // retained one when those records were gone).
  [[nodiscard]] std::int64_t from_offset() const noexcept { return lease_.from_offset(); }
  // Records deleted or overwritten before they were read.
  [[nodiscard]] std::int64_t lost_from() const noexcept { return lease_.lost_from(); }
  [[nodiscard]] std::int64_t lost() const noexcept { return lease_.lost(); }
  // Why the fetch stopped in front of damaged storage (file, byte,
  // reason), or empty: after the lease's batches, never skipped.
  [[nodiscard]] const std::string& storage_damage() const noexcept { return lease_.damage(); }
  // A damaged record met by next(): "the batch at offset B is damaged at
  // byte P (reason)", or nullopt.
  [[nodiscard]] std::optional<std::string> record_damage() const;
  // The next fetch into this lease goes on where `other` stopped (the
  // partition's read hint, checked before use).
  void continue_from(const FetchLease& other) noexcept { lease_.continue_from(other.lease_); }
  // Releases the batches (and what pins them).
  void reset() noexcept {
    lease_.reset();
    cursor_ = storage::RecordCursor(lease_);
  }

 private:
  friend class LocalBroker;
  storage::ReadLease lease_;
  storage::RecordCursor cursor_{lease_};
};

}  // namespace rill::broker
