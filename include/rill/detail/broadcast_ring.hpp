// BroadcastRing<T>: one producer, up to `max_readers` readers, each reading
// every item at its own pace through its own cursor.
//
// Design
// - `capacity` slots, a power of two; position q lives in slot q & mask.
//   Positions only increase and are assumed never to reach 2^63.
// - Each slot has a sequence word: 2q+1 while the producer writes position q,
//   2q+2 once q is complete (0 = never written). The payload is stored as
//   std::atomic<uint64_t> words, which is why T must be trivially copyable:
//   the producer may overwrite a slot while a lossy reader copies it, and
//   atomic word accesses make that overlap defined (and TSan-clean).
// - Mode, fixed at construction, never both:
//   gating: the producer never passes the slowest registered reader;
//           try_publish() returns false when it would. Readers never lose.
//   lossy:  the producer never waits and overwrites the oldest slot. A reader
//           that was overrun gets BroadcastReadStatus::lost with the exact number of
//           items it skipped and resumes at the oldest item still intact.
// - Reading is a seqlock: load sequence (acquire), copy the words (acquire
//   loads), load sequence again. The producer stores the odd sequence, then
//   the words with release, so a reader that saw any new word also sees the
//   odd sequence on its second load and discards the copy.
// - Readers register at run time into one of `max_readers` slots and start
//   at the next item to be published. The gating producer keeps a private
//   minimum of the reader cursors and rescans them only when the ring looks
//   full; registration uses a Dekker-style handshake with that rescan (see
//   register_reader()) so that a joining reader is never overrun.
// - Thread roles: one producer thread calls try_publish/publish; each reader
//   id is used by one thread at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <type_traits>

#include "rill/detail/cache.hpp"
#include "rill/detail/spsc_ring.hpp"
#include "rill/detail/wait_strategy.hpp"

namespace rill::detail {

enum class BroadcastMode : std::uint8_t { gating, lossy };

enum class BroadcastReadStatus : std::uint8_t {
  ok,     // an item was copied out
  empty,  // no new item yet
  lost,   // lossy mode: the reader was overrun; see lost_count
};

struct BroadcastRead {
  BroadcastReadStatus status;
  std::uint64_t lost_count = 0;  // items skipped, when status == lost

  friend bool operator==(const BroadcastRead&, const BroadcastRead&) = default;
};

template <class T>
class BroadcastRing {
  static_assert(std::is_trivially_copyable_v<T>,
                "BroadcastRing copies items word by word and requires trivially copyable T");

 public:
  using ReaderId = std::size_t;

  // Allocates `capacity` slots (rounded up to a power of two) and room for
  // `max_readers` readers. Throws rill::Error for capacity 0.
  BroadcastRing(std::size_t capacity, BroadcastMode mode, std::size_t max_readers = 16)
      : capacity_(ring_capacity_for(capacity, "broadcast ring")),
        mask_(capacity_ - 1),
        mode_(mode),
        max_readers_(max_readers),
        slots_(new Slot[capacity_]),
        readers_(new ReaderSlot[max_readers]) {}

  BroadcastRing(const BroadcastRing&) = delete;
  BroadcastRing& operator=(const BroadcastRing&) = delete;

  // Publishes a copy of `item`. Gating: false when the slowest reader is a
  // full ring behind. Lossy: always true. Producer thread only; never blocks.
  [[nodiscard]] bool try_publish(const T& item) noexcept {
    const std::uint64_t position = producer_position_;
    if (mode_ == BroadcastMode::gating && position - cached_min_cursor_ >= capacity_) {
      cached_min_cursor_ = rescan_min_cursor(position);
      if (position - cached_min_cursor_ >= capacity_) return false;
    }
    write_slot(slots_[position & mask_], position, item);
    producer_position_ = position + 1;
    // release: pairs with the acquire in register_reader() and overrun();
    // published.position is a lower bound for readers, not the publisher.
    published_.position.store(position + 1, std::memory_order_release);
    return true;
  }

  // Blocking publish (gating mode can be full): retries with `wait` until
  // done or `deadline`, then calls wait.notify() for blocked readers.
  template <class Wait>
  [[nodiscard]] bool publish(const T& item, Wait& wait, Deadline deadline = kNoDeadline) {
    return retry_then_notify(wait, deadline, [&] { return try_publish(item); });
  }

  // Claims a reader slot; the reader starts at the next item published.
  // nullopt when all max_readers slots are taken. Any thread.
  [[nodiscard]] std::optional<ReaderId> register_reader() noexcept {
    for (ReaderId id = 0; id < max_readers_; ++id) {
      bool expected = false;
      // acquire: pairs with the release in unregister_reader().
      if (readers_[id].claimed.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                                       std::memory_order_relaxed)) {
        join(readers_[id]);
        return id;
      }
    }
    return std::nullopt;
  }

  // Releases a reader slot; the gating producer stops waiting for it.
  void unregister_reader(ReaderId id) noexcept {
    // release: the reader's last copies happen before the producer reuses
    // those slots; pairs with the seq_cst loads in rescan_min_cursor().
    readers_[id].cursor.store(kInactive, std::memory_order_release);
    readers_[id].claimed.store(false, std::memory_order_release);
  }

  // Copies the reader's next item into `out`. Reader `id`'s thread only.
  [[nodiscard]] BroadcastRead try_read(ReaderId id, T& out) noexcept {
    ReaderSlot& reader = readers_[id];
    // relaxed: only this reader writes its cursor.
    const std::uint64_t cursor = reader.cursor.load(std::memory_order_relaxed);
    const Slot& slot = slots_[cursor & mask_];
    // acquire: pairs with the producer's release of 2q+2 in write_slot().
    const std::uint64_t before = slot.sequence.load(std::memory_order_acquire);
    const std::uint64_t complete = 2 * cursor + 2;
    if (before != complete) {
      if (before < complete) return {BroadcastReadStatus::empty};
      return overrun(reader, cursor, before);
    }
    std::uint64_t words[kWords];
    for (std::size_t i = 0; i < kWords; ++i) {
      // acquire: pairs with the producer's release word stores; a word from a
      // later lap makes the odd sequence visible to the load below.
      words[i] = slot.words[i].load(std::memory_order_acquire);
    }
    // relaxed: ordered after the word loads by their acquire.
    const std::uint64_t after = slot.sequence.load(std::memory_order_relaxed);
    if (after != before) return overrun(reader, cursor, after);
    std::memcpy(&out, words, sizeof(T));
    // release: our copy happens before the gating producer overwrites the
    // slot; pairs with the seq_cst loads in rescan_min_cursor().
    reader.cursor.store(cursor + 1, std::memory_order_release);
    return {BroadcastReadStatus::ok};
  }

  // Blocking read: waits with `wait` until the result is not `empty` or the
  // deadline passes (then returns empty). Notifies a gated producer after ok.
  template <class Wait>
  [[nodiscard]] BroadcastRead read(ReaderId id, T& out, Wait& wait, Deadline deadline = kNoDeadline) {
    BroadcastRead result = try_read(id, out);
    if (result.status == BroadcastReadStatus::empty) {
      auto ready = [&] { return (result = try_read(id, out)).status != BroadcastReadStatus::empty; };
      (void)wait.wait_until(ready, deadline);
    }
    if (result.status == BroadcastReadStatus::ok && mode_ == BroadcastMode::gating) wait.notify();
    return result;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t max_readers() const noexcept { return max_readers_; }
  [[nodiscard]] BroadcastMode mode() const noexcept { return mode_; }
  // Number of items published so far (the next position). Any thread.
  [[nodiscard]] std::uint64_t published() const noexcept {
    return published_.position.load(std::memory_order_acquire);  // pairs with try_publish
  }
  // Next position reader `id` will read. Any thread (a snapshot).
  [[nodiscard]] std::uint64_t reader_position(ReaderId id) const noexcept {
    return readers_[id].cursor.load(std::memory_order_acquire);  // pairs with try_read
  }

  // Test-only: moves the producer and every registered reader to `position`
  // as if that many items had been published and read. No concurrent use.
  void reset_positions_for_test(std::uint64_t position) noexcept {
    producer_position_ = cached_min_cursor_ = position;
    published_.position.store(position, std::memory_order_relaxed);  // no concurrent user
    for (std::size_t i = 0; i < capacity_; ++i) {
      slots_[i].sequence.store(0, std::memory_order_relaxed);  // no concurrent user
    }
    for (std::size_t id = 0; id < max_readers_; ++id) {
      if (readers_[id].cursor.load(std::memory_order_relaxed) != kInactive) {
        readers_[id].cursor.store(position, std::memory_order_relaxed);  // no concurrent user
      }
    }
  }

 private:
  static constexpr std::size_t kWords = (sizeof(T) + 7) / 8;
  static constexpr std::uint64_t kInactive = ~std::uint64_t{0};

  struct Slot {
    std::atomic<std::uint64_t> sequence{0};  // written by the producer, read by readers
    std::atomic<std::uint64_t> words[kWords] = {};  // payload, as above
  };
  struct alignas(kFalseSharingRange) ReaderSlot {
    std::atomic<std::uint64_t> cursor{kInactive};  // written by its reader, read by the producer
    std::atomic<bool> claimed{false};              // registration lock of this slot
  };
  struct alignas(kFalseSharingRange) PublishedPosition {
    std::atomic<std::uint64_t> position{0};  // written by the producer, read by readers
  };

  void write_slot(Slot& slot, std::uint64_t position, const T& item) noexcept {
    std::uint64_t words[kWords] = {};
    std::memcpy(words, &item, sizeof(T));
    // relaxed: the release word stores below order it before the payload.
    slot.sequence.store(2 * position + 1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < kWords; ++i) {
      // release: a reader that sees this word also sees the odd sequence.
      slot.words[i].store(words[i], std::memory_order_release);
    }
    // release: publishes the payload; pairs with the acquire in try_read().
    slot.sequence.store(2 * position + 2, std::memory_order_release);
  }

  // Smallest cursor of the registered readers (or `position` with none).
  std::uint64_t rescan_min_cursor(std::uint64_t position) noexcept {
    // seq_cst: the producer half of the handshake in join(): this increment
    // precedes the cursor loads in the single total order.
    rescans_.fetch_add(1, std::memory_order_seq_cst);
    std::uint64_t min_cursor = position;
    for (std::size_t id = 0; id < max_readers_; ++id) {
      // seq_cst: see join(); also acquires the reader's release of cursor.
      const std::uint64_t cursor = readers_[id].cursor.load(std::memory_order_seq_cst);
      if (cursor != kInactive) min_cursor = std::min(min_cursor, cursor);
    }
    return min_cursor;
  }

  // Sets a new reader's cursor to the published position so that no rescan
  // can miss it: if a rescan's increment comes after our check, its cursor
  // loads see our store; if it came before our first load, the minimum it
  // computed is at most the position we read, so the producer can only
  // overwrite items before our cursor. A rescan in between makes us retry.
  void join(ReaderSlot& reader) noexcept {
    for (;;) {
      const std::uint64_t rescans = rescans_.load(std::memory_order_seq_cst);
      const std::uint64_t start = published_.position.load(std::memory_order_seq_cst);
      reader.cursor.store(start, std::memory_order_seq_cst);
      if (rescans_.load(std::memory_order_seq_cst) == rescans) return;
    }
  }

  // The slot at `cursor` holds a later lap (`sequence` is that lap's 2q+1 or
  // 2q+2): skip to the oldest item that is still intact and report the gap.
  BroadcastRead overrun(ReaderSlot& reader, std::uint64_t cursor, std::uint64_t sequence) noexcept {
    const std::uint64_t overwriting = (sequence - 1) / 2;
    // acquire: pairs with the release in try_publish().
    const std::uint64_t published = published_.position.load(std::memory_order_acquire);
    // The slot of `overwriting` - capacity is gone; the slot of published -
    // capacity is intact unless the producer has begun the next lap there, in
    // which case the next try_read() reports that one item more.
    const std::uint64_t resume = std::max(overwriting + 1, published) - capacity_;
    // release: pairs with the seq_cst loads in rescan_min_cursor().
    reader.cursor.store(resume, std::memory_order_release);
    return {BroadcastReadStatus::lost, resume - cursor};
  }

  // Producer-private state: its next position and the cached slowest cursor.
  alignas(kFalseSharingRange) std::uint64_t producer_position_ = 0;
  std::uint64_t cached_min_cursor_ = 0;
  std::atomic<std::uint64_t> rescans_{0};  // written by the producer, read by joining readers
  PublishedPosition published_;
  const std::size_t capacity_;
  const std::uint64_t mask_;
  const BroadcastMode mode_;
  const std::size_t max_readers_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<ReaderSlot[]> readers_;
};

}  // namespace rill::detail
