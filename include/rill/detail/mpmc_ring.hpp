// MpmcRing<T>: a bounded multi-producer / multi-consumer queue, and
// MpmcRing<T, true>: the same ring whose single consumer claims without a
// CAS (the shared lane of MpscRing, mpsc_ring.hpp, for handle-less pushes).
//
// Design (Vyukov's bounded queue with 64-bit positions)
// - `capacity` slots, a power of two >= 2; position p lives in slot p & mask.
//   producer_position and consumer_position only increase.
// - Each slot carries a sequence number that says whose turn it is:
//     sequence == p          slot is free for the producer of position p
//     sequence == p + 1      slot holds the item of position p
//     sequence == p + cap    slot was consumed, free for position p + cap
//   Initially slot i has sequence i.
// - A producer claims position p by a CAS of producer_position p -> p + 1 after
//   seeing sequence == p; it constructs the item and publishes it with a
//   release store of sequence = p + 1. A consumer claims p likewise (CAS of
//   consumer_position) after seeing sequence == p + 1, moves the item out,
//   destroys it and frees the slot with a release store of p + cap.
// - In MpmcRing the positions publish nothing (relaxed): all data transfer
//   is ordered by the slot sequence's release/acquire pairs.
// - A claim is a CAS, not a fetch_add, so that try_push/try_pop never take a
//   position they cannot complete (a fetch_add claim past a full slot would
//   have to wait). A failed CAS hands back the current position, so a retry
//   costs no extra load.
// - Slots are cache-line aligned: two producers (or consumers) working on
//   neighbouring positions never write the same line.
// - With kSingleConsumer the consumer never writes a slot: it
//   frees everything before p + 1 with a release store of consumer_position,
//   and a producer checks for room against the producers' shared copy of it
//   (rereading consumer_position only when the copy says full) before its
//   CAS claim. The consumer's side has no CAS and one store per item.
// - Positions are 64-bit, so they never wrap in practice; comparisons use
//   signed differences and stay correct across a wrap of the counters.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "rill/detail/cache.hpp"
#include "rill/detail/spsc_ring.hpp"
#include "rill/detail/wait_strategy.hpp"

namespace rill::detail {

template <class T, bool kSingleConsumer = false>
class MpmcRing {
 public:
  // Creates an empty ring with at least `capacity` slots (rounded up to a
  // power of two, at least 2: with one slot "full for p" and "free for p + 1"
  // would be the same sequence). Allocates once; throws rill::Error for 0.
  explicit MpmcRing(std::size_t capacity)
      : capacity_(std::max<std::size_t>(
            2, ring_capacity_for(capacity, kSingleConsumer ? "mpsc ring" : "mpmc ring"))),
        storage_(new Slot[capacity_ + 2]) {
    producer_.slots = consumer_.slots = storage_.get() + 1;  // one pad slot each end
    producer_.mask = consumer_.mask = capacity_ - 1;
    reset_positions_for_test(0);
  }

  MpmcRing(const MpmcRing&) = delete;
  MpmcRing& operator=(const MpmcRing&) = delete;

  ~MpmcRing() { destroy_remaining(); }

  // Constructs an item from `args` at the next position; false when full.
  // Any thread. Never blocks or allocates.
  template <class... A>
  [[nodiscard]] bool try_emplace(A&&... args) noexcept(std::is_nothrow_constructible_v<T, A&&...>) {
    if constexpr (kSingleConsumer) {
      return try_emplace_single_consumer(std::forward<A>(args)...);
    }
    // relaxed: the position is only a claim counter; the slot sequence below
    // carries the ordering.
    std::uint64_t position = producer_.position.load(std::memory_order_relaxed);
    for (;;) {
      Slot& slot = producer_.slots[position & producer_.mask];
      // acquire: pairs with the consumer's release of `position` (the
      // previous lap's item is gone before we construct over it).
      const std::uint64_t sequence = slot.sequence.load(std::memory_order_acquire);
      const auto lag = static_cast<std::int64_t>(sequence - position);
      if (lag == 0) {
        // relaxed: the claim only has to be unique; see above.
        if (producer_.position.compare_exchange_weak(position, position + 1,
                                                     std::memory_order_relaxed,
                                                     std::memory_order_relaxed)) {
          std::construct_at(slot.item(), std::forward<A>(args)...);
          // release: publishes the item; pairs with the acquire in try_pop().
          slot.sequence.store(position + 1, std::memory_order_release);
          return true;
        }
      } else if (lag < 0) {
        return false;  // the slot still holds the item of position - capacity
      } else {
        // relaxed: another producer took `position`; catch up and retry.
        position = producer_.position.load(std::memory_order_relaxed);
      }
    }
  }

  [[nodiscard]] bool try_push(const T& item) noexcept(std::is_nothrow_copy_constructible_v<T>) {
    return try_emplace(item);
  }
  // Moves from `item` only when it returns true.
  [[nodiscard]] bool try_push(T&& item) noexcept(std::is_nothrow_move_constructible_v<T>) {
    return try_emplace(std::move(item));
  }

  // Moves the oldest available item into `out`; false when empty. Any
  // thread; with kSingleConsumer, the one consumer thread.
  [[nodiscard]] bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    static_assert(std::is_nothrow_destructible_v<T>, "MpmcRing requires a noexcept destructor");
    // relaxed: a claim counter (see try_emplace).
    std::uint64_t position = consumer_.position.load(std::memory_order_relaxed);
    for (;;) {
      Slot& slot = consumer_.slots[position & consumer_.mask];
      // acquire: pairs with the producer's release of position + 1; the item
      // is fully constructed.
      const std::uint64_t sequence = slot.sequence.load(std::memory_order_acquire);
      const auto lag = static_cast<std::int64_t>(sequence - (position + 1));
      if (lag == 0) {
        if constexpr (kSingleConsumer) {
          T* item = slot.item();
          out = std::move(*item);
          std::destroy_at(item);
          // release: frees the slot (no write to the slot itself); pairs with
          // the producers' acquire in room_for().
          consumer_.position.store(position + 1, std::memory_order_release);
          return true;
        } else if (!consumer_.position.compare_exchange_weak(position, position + 1,
                                                             std::memory_order_relaxed,
                                                             std::memory_order_relaxed)) {
          continue;  // `position` now holds the current value
        }
        T* item = slot.item();
        out = std::move(*item);
        std::destroy_at(item);
        // release: frees the slot for the producer of position + capacity;
        // pairs with the acquire in try_emplace().
        slot.sequence.store(position + capacity_, std::memory_order_release);
        return true;
      }
      if (lag < 0) return false;  // the item of `position` is not published yet
      // relaxed: another consumer took `position`; catch up and retry.
      position = consumer_.position.load(std::memory_order_relaxed);
    }
  }

  // Blocking forms: retry with `wait` until done or `deadline`, false on
  // timeout, and notify on success (see retry_then_notify in
  // wait_strategy.hpp). push() moves from `item` only on success.
  template <class Wait>
  [[nodiscard]] bool push(T item, Wait& wait, Deadline deadline = kNoDeadline) {
    return retry_then_notify(wait, deadline, [&] { return try_push(std::move(item)); });
  }
  template <class Wait>
  [[nodiscard]] bool pop(T& out, Wait& wait, Deadline deadline = kNoDeadline) {
    return retry_then_notify(wait, deadline, [&] { return try_pop(out); });
  }

  // Claimed positions minus consumed positions, clamped to [0, capacity]:
  // a snapshot that may include claimed-but-unpublished items.
  [[nodiscard]] std::size_t size() const noexcept {
    // acquire on both: a snapshot, consumer first so that the result is >= 0.
    const std::uint64_t consumed = consumer_.position.load(std::memory_order_acquire);
    const std::uint64_t produced = producer_.position.load(std::memory_order_acquire);
    const auto count = static_cast<std::int64_t>(produced - consumed);
    return count <= 0 ? 0 : std::min(static_cast<std::size_t>(count), capacity_);
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  // Test-only: moves both positions of an EMPTY ring to `position` and gives
  // each slot the sequence it would have there. No concurrent use.
  void reset_positions_for_test(std::uint64_t position) noexcept {
    for (std::uint64_t k = 0; k < capacity_; ++k) {
      // relaxed: no concurrent user.
      producer_.slots[(position + k) & producer_.mask].sequence.store(position + k,
                                                                      std::memory_order_relaxed);
    }
    producer_.position.store(position, std::memory_order_relaxed);  // no concurrent user
    consumer_.position.store(position, std::memory_order_relaxed);  // no concurrent user
    // relaxed: no concurrent user.
    producer_.cached_consumer_position.store(position, std::memory_order_relaxed);
  }

 private:
  struct alignas(kCacheLine) Slot {
    // Written by the producer (publish) and consumer (free) of the slot's
    // current position; read by both before they claim.
    std::atomic<std::uint64_t> sequence{0};
    alignas(T) unsigned char storage[sizeof(T)];

    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };
  static_assert(alignof(Slot) >= kCacheLine, "slots must not share cache lines");

  struct alignas(kFalseSharingRange) Side {
    std::atomic<std::uint64_t> position{0};  // claim counter of this side
    Slot* slots{nullptr};                    // immutable copies of the array and mask
    std::uint64_t mask{0};
    // kSingleConsumer, producer side only: the producers' shared copy of
    // consumer_position, refreshed by whichever producer finds the ring full.
    std::atomic<std::uint64_t> cached_consumer_position{0};
  };
  static_assert(sizeof(Side) % kFalseSharingRange == 0, "sides must fill whole line pairs");

  // The single-consumer push: room is judged from consumer_position (through the
  // producers' shared copy), so the consumer never writes a slot.
  template <class... A>
  bool try_emplace_single_consumer(A&&... args) noexcept(
      std::is_nothrow_constructible_v<T, A&&...>) {
    // relaxed: a claim counter; room_for() and the slot sequence order data.
    std::uint64_t position = producer_.position.load(std::memory_order_relaxed);
    do {
      if (!room_for(position)) return false;
      // relaxed: the claim only has to be unique; a failure reloads `position`.
    } while (!producer_.position.compare_exchange_weak(position, position + 1,
                                                      std::memory_order_relaxed,
                                                      std::memory_order_relaxed));
    Slot& slot = producer_.slots[position & producer_.mask];
    std::construct_at(slot.item(), std::forward<A>(args)...);
    // release: publishes the item; pairs with the acquire in try_pop().
    slot.sequence.store(position + 1, std::memory_order_release);
    return true;
  }

  // kSingleConsumer: true when the slot of `position` has been freed by the consumer.
  // Reads consumer_position only when the producers' shared copy says full.
  bool room_for(std::uint64_t position) noexcept {
    // acquire: pairs with the release below in another producer, which had
    // acquired consumer_position; the chain orders the consumer's frees first.
    std::uint64_t consumed = producer_.cached_consumer_position.load(std::memory_order_acquire);
    if (static_cast<std::int64_t>(position - consumed) < static_cast<std::int64_t>(capacity_)) {
      return true;
    }
    // acquire: pairs with the consumer's release in try_pop(); the item of
    // position - capacity was moved out and destroyed.
    consumed = consumer_.position.load(std::memory_order_acquire);
    // release: passes that ordering on to producers reading the copy above.
    // A stale copy stored late only makes a producer look again.
    producer_.cached_consumer_position.store(consumed, std::memory_order_release);
    return static_cast<std::int64_t>(position - consumed) < static_cast<std::int64_t>(capacity_);
  }

  void destroy_remaining() noexcept {
    // relaxed: no concurrent user in the destructor.
    std::uint64_t position = consumer_.position.load(std::memory_order_relaxed);
    const std::uint64_t end = producer_.position.load(std::memory_order_relaxed);
    for (; position != end; ++position) {
      std::destroy_at(consumer_.slots[position & consumer_.mask].item());
    }
  }

  Side producer_;  // producer_position: written by producers (CAS), read by all
  Side consumer_;  // consumer_position: written by consumers, read by all
  alignas(kFalseSharingRange) const std::size_t capacity_;
  std::unique_ptr<Slot[]> storage_;
};

}  // namespace rill::detail
