// MemoryPartition::read(): a ReadLease filled in place or by a validated
// copy (see the Design block in memory_partition.hpp).
#include <algorithm>
#include <atomic>
#include <new>

#include "codec/batch_format.hpp"
#include "storage/gate_table.hpp"
#include "storage/memory_partition.hpp"

namespace rill::storage {
namespace {

using ring::FrameHeader;
using ring::FrameKind;
using ring::FrameMark;
using ring::FrameRing;

constexpr int kReadTries = 64;  // lookups and copies retried while the ring moves under them

// The header of a frame as copied: the unit's words are {tag, state}.
FrameHeader copied_header(const std::byte* frame) noexcept {
  return FrameRing::decode(codec::load_field<std::uint64_t>(frame, 8));
}

}  // namespace

bool MemoryPartition::read_start(std::int64_t& offset, ReadLease& into, FrameMark& at) const noexcept {
  const ReadLease::Hint& hint = into.hint_;
  if (hint.partition == this && hint.offset == offset) {
    at = {hint.position, offset};
    return true;
  }
  for (int tries = 0; tries < kReadTries; ++tries) {
    if (ring_.locate(offset, known_mark(), at)) return true;
    if (at.offset > offset) {
      // Older than the window: read from its start, and say what is gone.
      into.lost_from_ = offset;
      into.lost_ = at.offset - offset;
      offset = at.offset;
      return true;
    }
  }
  return false;  // the frames kept moving under the lookup: nothing this time
}

ReadStatus MemoryPartition::read(std::int64_t offset, std::size_t max_bytes, ReadLease& into,
                                 const ReadOptions& options) noexcept {
  into.reset();
  FrameMark at;
  const bool gated = policy_ != FullPolicy::overwrite && options.gate != nullptr && *options.gate &&
                     options.gate->offset() <= offset;
  if (!read_start(offset, into, at)) {
    into.from_offset_ = into.next_offset_ = offset;
    return ReadStatus::empty;
  }
  return gated ? read_in_place(offset, at, max_bytes, into) : read_copy(offset, at, max_bytes, into);
}

ReadStatus MemoryPartition::read_in_place(std::int64_t offset, FrameMark at, std::size_t max_bytes,
                                          ReadLease& into) noexcept {
  // The caller's gate is at or below `offset`, so the limit mark is at or
  // below the frame holding it: no frame from `at` on is overwritten while
  // the gate stays there, and committed ones are handed out where they are.
  into.from_offset_ = into.next_offset_ = offset;
  std::size_t taken = 0;
  for (;;) {
    FrameHeader h;
    if (!ring_.header(at.position, h)) break;  // nothing claimed here yet
    if (h.kind == FrameKind::claimed) {
      if (ring_.abort_if_stuck(at.position, into.stuck_)) continue;  // padded over: skip it
      break;  // not committed yet: the read ends in front of it
    }
    if (h.kind == FrameKind::data && at.offset + h.record_count > offset) {
      const std::uint32_t size = ring_.body_bytes_at(at.position);
      if (taken != 0 && taken + size > max_bytes) break;
      if (!into.add(codec::BatchView::trusted({ring_.body_at(at.position), size}))) break;
      taken += size;
    }
    at.position += h.span;
    at.offset += h.record_count;  // aborted frames: a gap of offsets no record had
  }
  into.next_offset_ = std::max(offset, at.offset);
  into.hint_ = ReadLease::Hint{this, at.position, at.offset};
  return into.empty() ? ReadStatus::empty : ReadStatus::ok;
}

ReadStatus MemoryPartition::read_copy(std::int64_t offset, FrameMark at, std::size_t max_bytes,
                                      ReadLease& into) noexcept {
  // No gate keeps these frames: find the committed run to take (the header
  // loads acquire each frame's body), copy it, then check that no claim
  // reached a lap past it while it was copied.
  for (int tries = 0; tries < kReadTries; ++tries) {
    FrameMark end = at;
    std::size_t taken = 0;
    for (;;) {
      FrameHeader h;
      if (!ring_.header(end.position, h)) break;
      if (h.kind == FrameKind::claimed) {
        if (ring_.abort_if_stuck(end.position, into.stuck_)) continue;
        break;
      }
      if (h.kind == FrameKind::data && end.offset + h.record_count > offset) {
        const std::uint32_t size = ring_.body_bytes_at(end.position);
        if (taken != 0 && taken + size > max_bytes) break;
        taken += size;
      }
      end.position += h.span;
      end.offset += h.record_count;
    }
    const std::size_t words = (end.position - at.position) / 8;
    if (words > into.copy_words_) {
      into.copy_.reset(new (std::nothrow) std::uint64_t[words]);
      into.copy_words_ = into.copy_ ? words : 0;
      if (!into.copy_) break;  // out of memory: nothing read this time
    }
    ring_.copy_words(into.copy_.get(), at.position, end.position);
    // acquire fence: a copied word written by a later lap's claimer comes
    // after that claim's tail CAS (a full barrier), so the tail read below
    // sees the claim.
    std::atomic_thread_fence(std::memory_order_acquire);
    FrameMark tail = ring_.tail();
    if (tail.position > at.position + ring_.capacity()) {
      // Overwritten under us (or the hint was stale): read again from the
      // oldest frame, and count the records in between as lost.
      const FrameMark oldest = ring_.oldest(known_mark(), tail);
      if (oldest.offset > offset) {
        if (into.lost_ == 0) into.lost_from_ = offset;
        into.lost_ += oldest.offset - offset;
        offset = oldest.offset;
      }
      at = oldest;
      if (oldest.offset < offset && !ring_.locate(offset, known_mark(), at)) at = oldest;
      continue;
    }
    // The copy is whole: hand its batches out.
    const auto* copy = reinterpret_cast<const std::byte*>(into.copy_.get());
    std::int64_t next = at.offset;
    for (std::uint64_t p = at.position; p < end.position;) {
      const std::byte* frame = copy + (p - at.position);
      const FrameHeader h = copied_header(frame);
      if (h.kind == FrameKind::data && next + h.record_count > offset) {
        const auto size = codec::load_field<std::uint32_t>(frame, 24);
        if (!into.add(codec::BatchView::trusted({frame + FrameRing::kHeaderBytes, size}))) {
          end = {p, next};  // out of memory: the read ends here
          break;
        }
      }
      p += h.span;
      next += h.record_count;
    }
    into.from_offset_ = offset;
    into.next_offset_ = std::max(offset, end.offset);
    into.hint_ = ReadLease::Hint{this, end.position, end.offset};
    return into.empty() ? ReadStatus::empty : ReadStatus::ok;
  }
  into.from_offset_ = into.next_offset_ = offset;
  return ReadStatus::empty;
}

}  // namespace rill::storage
