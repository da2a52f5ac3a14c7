// SpscRing<T>: a bounded single-producer / single-consumer queue.
//
// Design
// - A Lamport queue. Positions are 64-bit counters that only increase
//   (unsigned differences: a counter wrap is harmless); each side keeps the
//   slot index of its position and wraps it by a compare, not a modulo.
// - Sequenced slots, when { u64 sequence; T } tiles cache lines (e.g. 8-byte
//   items): sequence == p + 1 means "the item of position p is here". The
//   producer constructs the item, then release-stores the sequence;
//   try_pop/front acquire-load it, so one item moves one line (the slot) to
//   the consumer, not two. An earlier lap left p + 1 - k * slot count there.
//   Larger items use plain slots (a straddling slot would move two lines),
//   and try_pop/front read producer_position as try_pop_n does.
//   SpscLayout::compact asks for plain slots whatever the size: a batch then
//   moves only its items' bytes (8-byte items: half the lines).
// - The producer release-stores producer_position after every push (for
//   plain slots, try_pop_n, size()) and keeps a private copy of
//   consumer_position that it rereads only when the copy says "full".
// - capacity() (the request rounded up to a power of two) always fits: there
//   are capacity() + release_batch() - 1 slots, as the consumer stores
//   consumer_position only every release_batch() items and when it has
//   caught up, so a producer waiting on a full ring gets a group at a time,
//   and size()/empty() are exact once the consumer has caught up.
// - Thread roles: one producer thread calls try_push*, try_emplace, push;
//   one consumer thread calls try_pop*, front, pop; size(), empty() and
//   capacity() may be called from either.
// - Each side's fields live on their own pair of cache lines; unused slots at
//   both ends of the array keep other heap blocks off their lines.
// - The destructor destroys the elements still in the ring.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "rill/detail/cache.hpp"
#include "rill/detail/wait_strategy.hpp"
#include "rill/error.hpp"

namespace rill::detail {

// Rounds a requested ring capacity up to a power of two; throws rill::Error
// (invalid_argument) for 0 or a capacity too large to represent.
[[nodiscard]] inline std::size_t ring_capacity_for(std::size_t requested, const char* what) {
  constexpr std::size_t kMaxCapacity = std::size_t{1} << (sizeof(std::size_t) * 8 - 2);
  if (requested == 0 || requested > kMaxCapacity) {
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + ": capacity " + std::to_string(requested) +
                    " is out of range (use 1 .. 2^62 slots)");
  }
  return std::bit_ceil(requested);
}

// How an SpscRing lays out its slots (see the Design block).
enum class SpscLayout {
  automatic,  // sequenced slots when they tile cache lines, else compact
  compact,    // items only, back to back: the fewest bytes per item, best
              // for batch transfer (try_push_n / try_pop_n)
};

template <class T, SpscLayout kLayout = SpscLayout::automatic>
class SpscRing {
 public:
  // Creates an empty ring that accepts at least `capacity` items (rounded up
  // to a power of two). Allocates once; throws rill::Error for capacity 0.
  explicit SpscRing(std::size_t capacity)
      : capacity_(ring_capacity_for(capacity, "spsc ring")),
        release_batch_(release_batch_for(capacity_)),
        slot_count_(capacity_ + release_batch_ - 1),
        storage_(allocate(slot_count_)) {
    producer_.slots = consumer_.slots = storage_ + kPadSlots;
    producer_.slot_count = consumer_.slot_count = slot_count_;
    consumer_.release_batch = release_batch_;
    for (std::size_t i = 0; i < slot_count_; ++i) new (producer_.slots + i) Slot;
    reset_positions_for_test(0);
  }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  ~SpscRing() {
    while (front() != nullptr) pop();
    ::operator delete(storage_, std::align_val_t{kSlotAlign});
  }

  // Constructs an item in place from `args`; false (and `args` untouched)
  // when the ring is full. Never blocks or allocates.
  template <class... A>
  [[nodiscard]] bool try_emplace(A&&... args) noexcept(std::is_nothrow_constructible_v<T, A&&...>) {
    // relaxed: only this thread writes producer_position.
    const std::uint64_t position = producer_.position.load(std::memory_order_relaxed);
    if (position - producer_.cached_consumer_position == producer_.slot_count) [[unlikely]] {
      if (!refresh_if_full(position)) return false;
    }
    // Every field is read before the item is written: a T store may alias
    // them (T = std::uint64_t), and the compiler would reload them after it.
    const std::size_t index = producer_.index;
    Slot* const slot = producer_.slots + index;
    producer_.index = next_index(index, producer_.slot_count);
    std::construct_at(slot->item(), std::forward<A>(args)...);
    publish(slot, position);
    // release: publishes the item to try_pop_n() and size(), which acquire
    // producer_position; try_pop()/front() use the slot's sequence instead.
    producer_.position.store(position + 1, std::memory_order_release);
    return true;
  }

  [[nodiscard]] bool try_push(const T& item) noexcept(std::is_nothrow_copy_constructible_v<T>) {
    return try_emplace(item);
  }
  // Moves from `item` only when it returns true.
  [[nodiscard]] bool try_push(T&& item) noexcept(std::is_nothrow_move_constructible_v<T>) {
    return try_emplace(std::move(item));
  }

  // Copies up to `n` items from `items`: each is published by its slot's
  // sequence, all by one store of producer_position. Returns how many were
  // pushed (0 when full). If a copy throws, the items copied before it are
  // published and the exception propagates.
  [[nodiscard]] std::size_t try_push_n(const T* items, std::size_t n) noexcept(
      std::is_nothrow_copy_constructible_v<T>) {
    // relaxed: only this thread writes producer_position.
    const std::uint64_t position = producer_.position.load(std::memory_order_relaxed);
    auto free_slots = [&] {
      return slot_count_ - static_cast<std::size_t>(position - producer_.cached_consumer_position);
    };
    if (free_slots() < n) refresh_if_full(position);
    const std::size_t count = std::min(n, free_slots());
    // Locals, not fields, in the loop: a T store may alias the fields.
    Slot* const slots = producer_.slots;
    const std::size_t slot_count = slot_count_;
    std::size_t done = 0;
    std::size_t index = producer_.index;
    auto copy_all = [&] {
      while (done < count) {
        const std::size_t run = std::min(count - done, slot_count - index);
        for (std::size_t i = 0; i < run; ++i) {
          std::construct_at(slots[index + i].item(), items[done + i]);
          publish(slots + index + i, position + done + i);
        }
        done += run;
        index += run;
        if (index == slot_count) index = 0;
      }
    };
    if constexpr (std::is_nothrow_copy_constructible_v<T>) {
      copy_all();
    } else {
      try {
        copy_all();
      } catch (...) {
        producer_.index = index;
        // release: publishes the items constructed before the throw.
        producer_.position.store(position + done, std::memory_order_release);
        throw;
      }
    }
    producer_.index = index;
    // release: publishes all `count` items at once; pairs with the consumer's
    // acquire of producer_position in try_pop_n().
    if (count != 0) producer_.position.store(position + count, std::memory_order_release);
    return count;
  }

  // Returns the oldest item without removing it, or nullptr when empty.
  // Consumer only. The pointer stays valid until pop().
  [[nodiscard]] T* front() noexcept {
    Slot* const slot = consumer_.slots + consumer_.index;
    if (!published(slot, consumer_.position_local)) return nullptr;
    return slot->item();
  }

  // Destroys the oldest item and frees its slot. Precondition: front() has
  // returned non-null since the last pop().
  void pop() noexcept {
    static_assert(std::is_nothrow_destructible_v<T>, "SpscRing requires a noexcept destructor");
    const std::uint64_t position = consumer_.position_local;
    const std::size_t index = consumer_.index;
    std::destroy_at(consumer_.slots[index].item());
    advance_consumer(position, index);
  }

  // Moves the oldest item into `out`; false when empty.
  [[nodiscard]] bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    // Fields are read before `out` is written (it may alias them).
    const std::uint64_t position = consumer_.position_local;
    const std::size_t index = consumer_.index;
    Slot* const slot = consumer_.slots + index;
    if (!published(slot, position)) return false;
    T* const item = slot->item();
    out = std::move(*item);
    std::destroy_at(item);
    advance_consumer(position, index);
    return true;
  }

  // Moves up to `max` items into out[0..); their slots are freed with the
  // consumer's next group (at most one store per call). Returns how many
  // were moved (0 when empty).
  [[nodiscard]] std::size_t try_pop_n(T* out, std::size_t max) noexcept(
      std::is_nothrow_move_assignable_v<T>) {
    const std::uint64_t position = consumer_.position_local;
    std::size_t ready = ready_in_cache(position);
    if (ready < max) {
      // acquire: pairs with the producer's release of producer_position; the
      // items before it are fully constructed.
      consumer_.cached_producer_position = producer_.position.load(std::memory_order_acquire);
      ready = ready_in_cache(position);
    }
    const std::size_t count = std::min(max, ready);
    // Locals, not fields, in the loop: a T store may alias the fields.
    Slot* const slots = consumer_.slots;
    const std::size_t slot_count = slot_count_;
    std::size_t index = consumer_.index;
    for (std::size_t done = 0; done < count;) {
      const std::size_t run = std::min(count - done, slot_count - index);
      for (std::size_t i = 0; i < run; ++i) {
        T* const item = slots[index + i].item();
        out[done + i] = std::move(*item);
        std::destroy_at(item);
      }
      done += run;
      index += run;
      if (index == slot_count) index = 0;
    }
    const std::uint64_t next = position + count;
    consumer_.index = index;
    consumer_.position_local = next;
    // Same grouping as advance_consumer(): free a whole group at a time, or
    // everything once caught up (this includes count == 0, an empty ring).
    if (static_cast<std::int64_t>(next - consumer_.release_at) >= 0 || count == ready) {
      release_to(next);
    }
    return count;
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

  // Items published and not yet released by the consumer: a snapshot that
  // may count up to release_batch() - 1 items the consumer already took.
  [[nodiscard]] std::size_t size() const noexcept {
    // acquire on both: a snapshot, consumer first so that the result is >= 0.
    const std::uint64_t consumed = consumer_.position.load(std::memory_order_acquire);
    const std::uint64_t produced = producer_.position.load(std::memory_order_acquire);
    return std::min(static_cast<std::size_t>(produced - consumed), slot_count_);
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  // Items the ring always accepts: the requested capacity rounded up to a
  // power of two. It may hold up to capacity() + release_batch() - 1.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  // How many pops the consumer groups before it frees their slots.
  [[nodiscard]] std::size_t release_batch() const noexcept { return release_batch_; }

  // Test-only: moves both positions of an EMPTY ring to `position`, so that
  // tests can reach the wrap of the slot array or of the 64-bit counters.
  // No other thread may use the ring during the call.
  void reset_positions_for_test(std::uint64_t position) noexcept {
    if constexpr (kSequenced) {
      for (std::size_t i = 0; i < slot_count_; ++i) {
        // relaxed: no concurrent user. `position` is never p + 1 for a
        // position p this lap will use, so every slot reads as unpublished.
        producer_.slots[i].sequence.store(position, std::memory_order_relaxed);
      }
    }
    producer_.position.store(position, std::memory_order_relaxed);  // no concurrent user
    consumer_.position.store(position, std::memory_order_relaxed);  // no concurrent user
    producer_.cached_consumer_position = consumer_.cached_producer_position = position;
    consumer_.position_local = position;
    consumer_.release_at = position + release_batch_;
    producer_.index = consumer_.index = static_cast<std::size_t>(position % slot_count_);
  }

 private:
  // One item and the word that says which position it belongs to.
  struct SequencedSlot {
    std::atomic<std::uint64_t> sequence{0};  // written by producer, read by consumer
    alignas(T) unsigned char storage[sizeof(T)];

    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };
  struct PlainSlot {
    alignas(T) unsigned char storage[sizeof(T)];

    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };
  // Sequenced slots only when they tile cache lines exactly: a slot that
  // straddles two lines would move both, and the neighbour's too.
  static constexpr bool kSequenced =
      kLayout == SpscLayout::automatic && kCacheLine % sizeof(SequencedSlot) == 0;
  using Slot = std::conditional_t<kSequenced, SequencedSlot, PlainSlot>;
  static_assert(std::is_trivially_destructible_v<Slot>, "slots are freed without destructors");

  static constexpr std::size_t kSlotAlign = std::max(alignof(Slot), kCacheLine);
  // Unused slots at each end of the array, covering kFalseSharingRange bytes.
  static constexpr std::size_t kPadSlots = (kFalseSharingRange + sizeof(Slot) - 1) / sizeof(Slot);
  // The consumer frees about this many bytes of items at a time (64 lines):
  // enough that a producer waiting on a full ring gets a long run of slots
  // the consumer has left, small next to the ring. At most capacity / 8.
  static constexpr std::size_t kReleaseBytes = 64 * kCacheLine;

  static std::size_t release_batch_for(std::size_t capacity) noexcept {
    return std::max<std::size_t>(1, std::min(kReleaseBytes / sizeof(T), capacity / 8));
  }
  static Slot* allocate(std::size_t slot_count) {
    const std::size_t bytes = (slot_count + 2 * kPadSlots) * sizeof(Slot);
    return static_cast<Slot*>(::operator new(bytes, std::align_val_t{kSlotAlign}));
  }
  static std::size_t next_index(std::size_t index, std::size_t slot_count) noexcept {
    return index + 1 == slot_count ? 0 : index + 1;
  }

  // Items ready at `position` by the consumer's copy of producer_position.
  // With sequenced slots the copy may lag behind `position`, even just
  // after a refresh (try_pop() goes by the slot's sequence, which is stored
  // first): a negative difference means none.
  std::size_t ready_in_cache(std::uint64_t position) const noexcept {
    const auto known = static_cast<std::int64_t>(consumer_.cached_producer_position - position);
    return known > 0 ? static_cast<std::size_t>(known) : 0;
  }

  // Marks the item of `position` in `slot` as published (producer side).
  static void publish(Slot* slot, std::uint64_t position) noexcept {
    if constexpr (kSequenced) {
      // release: the constructed item happens before the consumer's acquire
      // of this sequence in published().
      slot->sequence.store(position + 1, std::memory_order_release);
    }
  }

  // True when `slot` holds the item of `position` (consumer side). An empty
  // ring gives the producer every slot back.
  bool published(Slot* slot, std::uint64_t position) noexcept {
    if constexpr (kSequenced) {
      // acquire: pairs with the release in publish(); the item is constructed.
      if (slot->sequence.load(std::memory_order_acquire) == position + 1) [[likely]] {
        return true;
      }
    } else {
      if (position != consumer_.cached_producer_position) return true;
      // acquire: pairs with the producer's release of producer_position; the
      // items before it are fully constructed.
      consumer_.cached_producer_position = producer_.position.load(std::memory_order_acquire);
      if (position != consumer_.cached_producer_position) return true;
    }
    release_to(position);
    return false;
  }

  // Producer: rereads consumer_position after the private copy said full;
  // true when there is room for the item of `position`.
  bool refresh_if_full(std::uint64_t position) noexcept {
    // acquire: pairs with the consumer's release in release_to(); the slots
    // we are about to overwrite have been fully consumed.
    producer_.cached_consumer_position = consumer_.position.load(std::memory_order_acquire);
    return position - producer_.cached_consumer_position != producer_.slot_count;
  }

  // Moves past the item at `position` (slot `index`). Frees a full group,
  // or everything once the next slot is still unpublished: the producer is
  // not short of space then, and size()/empty() become exact.
  void advance_consumer(std::uint64_t position, std::size_t index) noexcept {
    const std::uint64_t next = position + 1;
    const std::size_t next_slot = next_index(index, consumer_.slot_count);
    consumer_.index = next_slot;
    consumer_.position_local = next;
    bool caught_up = next == consumer_.cached_producer_position;
    if constexpr (kSequenced) {
      // relaxed: only decides whether to release now; no item is read.
      caught_up = consumer_.slots[next_slot].sequence.load(std::memory_order_relaxed) != next + 1;
    }
    if (next == consumer_.release_at || caught_up) release_to(next);
  }

  // Publishes the consumer's progress: every slot before `position` is free
  // for the producer.
  void release_to(std::uint64_t position) noexcept {
    consumer_.release_at = position + consumer_.release_batch;
    // relaxed: only this thread writes consumer_position.
    if (consumer_.position.load(std::memory_order_relaxed) == position) return;
    // release: the reads and destruction of the freed slots happen before the
    // producer reuses them; pairs with the producer's acquire of
    // consumer_position in refresh_if_full().
    consumer_.position.store(position, std::memory_order_release);
  }

  // Everything the producer touches on a push, on its own lines.
  struct alignas(kFalseSharingRange) ProducerSide {
    // Written by the producer, read by try_pop_n() and size().
    std::atomic<std::uint64_t> position{0};
    std::uint64_t cached_consumer_position{0};  // producer-local copy, refreshed when full
    std::size_t index{0};                       // slot of `position`
    Slot* slots{nullptr};                       // immutable copies of the array and size
    std::size_t slot_count{0};
  };
  // Everything the consumer touches on a pop, on its own lines.
  struct alignas(kFalseSharingRange) ConsumerSide {
    // Released position: written by the consumer, read by the producer.
    std::atomic<std::uint64_t> position{0};
    std::uint64_t position_local{0};  // consumer-local: next item to take
    // Consumer-local copy of producer_position for try_pop_n(), refreshed
    // when it says fewer items than asked for.
    std::uint64_t cached_producer_position{0};
    std::size_t index{0};         // slot of position_local
    std::uint64_t release_at{0};  // position at which the next group is freed
    Slot* slots{nullptr};         // immutable copies
    std::size_t slot_count{0};
    std::size_t release_batch{1};
  };
  static_assert(sizeof(ProducerSide) % kFalseSharingRange == 0,
                "producer fields must fill whole cache-line pairs");
  static_assert(sizeof(ConsumerSide) % kFalseSharingRange == 0,
                "consumer fields must fill whole cache-line pairs");
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                "ring positions must be lock-free 64-bit atomics");

  ProducerSide producer_;
  ConsumerSide consumer_;
  // Read-only after construction; used by the batch and cold paths.
  alignas(kFalseSharingRange) const std::size_t capacity_;
  const std::size_t release_batch_;
  const std::size_t slot_count_;
  Slot* const storage_;
};

}  // namespace rill::detail
