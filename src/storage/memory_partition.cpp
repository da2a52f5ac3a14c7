// MemoryPartition: appends, the limit mark, gates and the window; the
// design is in memory_partition.hpp, reads in memory_partition_read.cpp.
#include "storage/memory_partition.hpp"

#include <algorithm>
#include <memory>

#include "codec/batch_format.hpp"
#include "storage/timestamp_scan.hpp"

namespace rill::storage {

using ring::FrameMark;
using ring::FrameRing;

namespace {
constexpr int kLookupTries = 64;  // lookups retried while the ring moves under them
}  // namespace

MemoryPartition::MemoryPartition(std::size_t capacity_bytes, FullPolicy policy, detail::BlockingWait* data_signal,
                                 std::chrono::nanoseconds stuck_timeout)
    : ring_(capacity_bytes, policy, stuck_timeout), policy_(policy), data_signal_(data_signal) {
  gates_.reserve();  // appenders read the gates without a lock (gate_table.hpp)
}

MemoryPartition::~MemoryPartition() = default;

bool MemoryPartition::try_append(std::span<std::byte> batch, std::uint32_t records, AppendResult& result) noexcept {
  for (;;) {
    const ring::FrameClaim claim = policy_ == FullPolicy::overwrite
                                       ? ring_.try_claim(batch.size(), records, 0)
                                       : ring_.try_claim_marked(batch.size(), records);
    if (claim.status == ring::ClaimStatus::ok) {
      codec::set_base_offset(batch, claim.first_offset);
      ring_.write_body(claim, 0, batch);
      if (!ring_.commit(claim)) {
        // Padded over as stuck while we wrote it: its offsets are skipped.
        result.status = AppendStatus::failed;
        result.error = std::make_shared<const Error>(
            ErrorCode::timeout, "memory partition: the append was stalled for longer than the ring's "
                                 "stuck timeout and a reader skipped it; nothing of it was stored");
        return true;
      }
      counters.add_appended_concurrently(records, batch.size());
      result.status = AppendStatus::ok;
      result.base_offset = claim.first_offset;
      return true;
    }
    if (claim.status == ring::ClaimStatus::too_large) {
      result.status = AppendStatus::too_large;
      return true;
    }
    if (!raise_limit()) {
      result.status = AppendStatus::full;
      return false;
    }
  }
}

bool MemoryPartition::raise_limit() noexcept {
  lock_gates();
  FrameMark mark = ring_.limit_mark();
  const FrameMark was = mark;
  const std::int64_t gate = gates_.min_offset();
  if (gate == GateTable::kNoGate) {
    mark = {FrameRing::kNoLimit, 0};
  } else if (mark.position != FrameRing::kNoLimit) {
    // Walk over the frames every gate has let go; they were kept by the
    // mark, so their headers are whole.
    const std::uint64_t tail = ring_.claim_position();
    ring::FrameHeader h;
    while (mark.position < tail && ring_.header(mark.position, h) && mark.offset + h.record_count <= gate) {
      mark.position += h.span;
      mark.offset += h.record_count;
    }
  }
  const bool moved = mark.position != was.position;
  if (moved) {
    FrameMark expected = was;
    (void)ring_.replace_limit_mark(expected, mark);  // only gate_lock_ holders change it
  }
  unlock_gates();
  return moved;
}

std::int64_t MemoryPartition::gate_lowered_locked(std::int64_t offset) noexcept {
  if (policy_ == FullPolicy::overwrite) return offset;  // gates hold nothing back
  FrameMark at;
  for (int tries = 0;; ++tries) {
    if (tries == kLookupTries) {
      at = ring_.tail();  // the ring moved under every lookup: hold the end
      offset = std::max(offset, at.offset);
      break;
    }
    if (ring_.locate(offset, ring_.limit_mark(), at)) break;
    if (at.offset > offset) offset = at.offset;  // older than the window: hold its start
  }
  FrameMark mark = ring_.limit_mark();
  // A mark at or below the frame already keeps it: every lowering of the
  // mark ended with a barrier, so no claim still works from a higher one,
  // and raising it takes gate_lock_, which we hold.
  if (mark.position != FrameRing::kNoLimit && mark.position <= at.position) return offset;
  (void)ring_.replace_limit_mark(mark, at);  // under gate_lock_: ours to change
  for (;;) {
    if (ring_.try_barrier() != FrameRing::kNoLimit) return offset;  // the frame at `at` is kept
    // No room for the barrier: the ring is full up to the frame holding
    // `offset`, which a claim made under the old mark may overwrite. Hold
    // the next frame instead (the caller sees where the gate landed).
    ring::FrameHeader h;
    if (ring_.header(at.position, h)) {
      at = {at.position + h.span, at.offset + h.record_count};
    } else {
      at = ring_.tail();
    }
    offset = std::max(offset, at.offset);
    mark = ring_.limit_mark();
    (void)ring_.replace_limit_mark(mark, at);
  }
}

AppendResult MemoryPartition::append(std::span<std::byte> batch, bool wait, detail::Deadline deadline) noexcept {
  if (batch.size() > max_batch_bytes() || batch.size() < codec::kBatchHeaderSize) {
    return {AppendStatus::too_large, -1};
  }
  const auto records = static_cast<std::uint32_t>(
      codec::load_field<std::int32_t>(batch.data(), offsetof(codec::BatchHeader, last_offset_delta)) + 1);
  AppendResult result;
  auto attempt = [&]() noexcept { return try_append(batch, records, result); };
  bool done = attempt();
  if (!done) {
    counters.add_full_event();
    if (wait && policy_ == FullPolicy::block) {
      // Each retry claims again; gates notify space_wait_ after moving
      // forward (or going), so the sleep ends when room may exist.
      done = space_wait_.wait_until(attempt, deadline);
      if (!done) result.status = AppendStatus::timed_out;
    }
  }
  if (result.status == AppendStatus::ok && data_signal_ != nullptr) data_signal_->notify();
  return result;
}

FrameMark MemoryPartition::known_mark() const noexcept {
  return policy_ == FullPolicy::overwrite ? FrameMark{FrameRing::kNoLimit, 0} : ring_.limit_mark();
}

PartitionInfo MemoryPartition::info() const noexcept {
  FrameMark tail;
  const FrameMark oldest = ring_.oldest(known_mark(), tail);
  PartitionInfo info;
  info.start_offset = std::min(oldest.offset, tail.offset);
  info.end_offset = tail.offset;
  info.retained_bytes = tail.position - std::min(oldest.position, tail.position);
  return info;
}

Positions MemoryPartition::positions() const noexcept {
  const PartitionInfo window = info();
  return Positions{window.start_offset, window.end_offset, window.start_offset, window.end_offset};
}

std::int64_t MemoryPartition::offset_for_timestamp(std::int64_t timestamp_ms) {
  return scan_for_timestamp(*this, kEarliest, timestamp_ms);
}

}  // namespace rill::storage
