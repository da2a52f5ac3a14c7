// SpscRing<T>: a bounded single-producer / single-consumer queue.
//
// Design
// - A Lamport queue. producer_position and consumer_position are 64-bit
//   counters that only increase (unsigned differences, so a wrap of the
//   counters is harmless). Each side also keeps the slot index of its own
//   position and wraps it by a compare, never by a modulo.
// - capacity() is the requested capacity rounded up to a power of two: the
//   ring always accepts that many items. The slot array has
//   capacity() + release_batch() - 1 slots, because the consumer frees slots
//   in groups (next point).
// - The consumer publishes consumer_position only every release_batch() items
//   and whenever it has taken everything it knows to be published, so
//   that a producer waiting on a full ring sees space appear a group at a
//   time instead of fighting the consumer for the same cache lines on every
//   item. release_batch() is 1 (eager) for small rings and large items.
// - Each side keeps a private copy of the other side's position and reads the
//   shared one only when its copy says "full" (producer) or "empty"
//   (consumer). In steady state a push or pop touches no shared line but the
//   slot itself.
// - Thread roles: exactly one producer thread calls try_push*, try_emplace,
//   push; exactly one consumer thread calls try_pop*, front, pop. size(),
//   empty() and capacity() may be called from either.
// - The producer constructs the element, then publishes it with a release
//   store of producer_position; the consumer acquires producer_position,
//   reads/moves the element, destroys it, and later frees the slot with a
//   release store of consumer_position that the producer acquires before
//   reusing it.
// - Each side's fields live on their own pair of cache lines; the slot array
//   has a pad of unused slots at both ends so that neighbouring heap blocks
//   never share a line with live slots.
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

template <class T>
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
    consumer_.release_at = release_batch_;
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
    if (position - producer_.cached_consumer_position == producer_.slot_count) {
      // acquire: pairs with the consumer's release in release_to(); the slot
      // we are about to overwrite has been fully consumed.
      producer_.cached_consumer_position = consumer_.position.load(std::memory_order_acquire);
      if (position - producer_.cached_consumer_position == producer_.slot_count) return false;
    }
    // Every field is read before the item is written: a T store may alias
    // them (T = std::uint64_t), and the compiler would reload them after it.
    const std::size_t index = producer_.index;
    const std::size_t next = next_index(index, producer_.slot_count);
    std::construct_at(producer_.slots + index, std::forward<A>(args)...);
    producer_.index = next;
    // release: publishes the constructed item; pairs with the consumer's
    // acquire of producer_position in front()/try_pop*().
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

  // Copies up to `n` items from `items`, publishing them with one store.
  // Returns how many were pushed (0 when full). If a copy throws, the items
  // copied before it are published and the exception propagates.
  [[nodiscard]] std::size_t try_push_n(const T* items, std::size_t n) noexcept(
      std::is_nothrow_copy_constructible_v<T>) {
    // relaxed: only this thread writes producer_position.
    const std::uint64_t position = producer_.position.load(std::memory_order_relaxed);
    auto free_slots = [&] {
      return slot_count_ - static_cast<std::size_t>(position - producer_.cached_consumer_position);
    };
    std::size_t free = free_slots();
    if (free < n) {
      // acquire: pairs with the consumer's release in release_to().
      producer_.cached_consumer_position = consumer_.position.load(std::memory_order_acquire);
      free = free_slots();
    }
    const std::size_t count = std::min(n, free);
    if (count == 0) return 0;
    const std::size_t first = producer_.index;
    const std::size_t head = std::min(count, slot_count_ - first);
    if constexpr (std::is_trivially_copyable_v<T>) {
      std::memcpy(static_cast<void*>(producer_.slots + first), items, head * sizeof(T));
      std::memcpy(static_cast<void*>(producer_.slots), items + head, (count - head) * sizeof(T));
    } else {
      std::size_t done = 0;
      try {
        for (; done < count; ++done) {
          std::construct_at(producer_.slots + producer_.index, items[done]);
          producer_.index = next_index(producer_.index, slot_count_);
        }
      } catch (...) {
        // release: publishes the items constructed before the throw.
        producer_.position.store(position + done, std::memory_order_release);
        throw;
      }
    }
    producer_.index = advance_index(first, count, slot_count_);
    // release: publishes all `count` items at once; pairs with the consumer's
    // acquire of producer_position.
    producer_.position.store(position + count, std::memory_order_release);
    return count;
  }

  // Returns the oldest item without removing it, or nullptr when empty.
  // Consumer only. The pointer stays valid until pop().
  [[nodiscard]] T* front() noexcept {
    if (!refresh_if_empty(consumer_.position_local)) return nullptr;
    return consumer_.slots + consumer_.index;
  }

  // Destroys the oldest item and frees its slot. Precondition: front() has
  // returned non-null since the last pop().
  void pop() noexcept {
    static_assert(std::is_nothrow_destructible_v<T>, "SpscRing requires a noexcept destructor");
    const std::uint64_t position = consumer_.position_local;
    const std::size_t index = consumer_.index;
    std::destroy_at(consumer_.slots + index);
    advance_consumer(position, index);
  }

  // Moves the oldest item into `out`; false when empty.
  [[nodiscard]] bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    const std::uint64_t position = consumer_.position_local;
    if (!refresh_if_empty(position)) return false;
    // Fields are read before `out` is written (it may alias them).
    const std::size_t index = consumer_.index;
    T* item = consumer_.slots + index;
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
    std::size_t ready = static_cast<std::size_t>(consumer_.cached_producer_position - position);
    if (ready < max) {
      // acquire: pairs with the producer's release of producer_position.
      consumer_.cached_producer_position = producer_.position.load(std::memory_order_acquire);
      ready = static_cast<std::size_t>(consumer_.cached_producer_position - position);
    }
    const std::size_t count = std::min(max, ready);
    const std::size_t first = consumer_.index;
    const std::size_t head = std::min(count, slot_count_ - first);
    if constexpr (std::is_trivially_copyable_v<T>) {
      std::memcpy(static_cast<void*>(out), consumer_.slots + first, head * sizeof(T));
      std::memcpy(static_cast<void*>(out + head), consumer_.slots, (count - head) * sizeof(T));
    } else {
      std::size_t index = first;
      for (std::size_t i = 0; i < count; ++i) {
        out[i] = std::move(consumer_.slots[index]);
        std::destroy_at(consumer_.slots + index);
        index = next_index(index, slot_count_);
      }
    }
    const std::uint64_t next = position + count;
    consumer_.index = advance_index(first, count, slot_count_);
    consumer_.position_local = next;
    // Same grouping as advance_consumer(): free a whole group at a time, or
    // everything once caught up (this includes count == 0, an empty ring).
    if (static_cast<std::int64_t>(next - consumer_.release_at) >= 0 ||
        next == consumer_.cached_producer_position) {
      release_to(next);
    }
    return count;
  }

  // Blocking forms: retry with `wait` until done or `deadline`; false on
  // timeout. On success they call wait.notify() so that a peer blocked on
  // the same strategy object wakes; the try_ forms never notify, so a
  // BlockingWait needs the blocking forms on both sides. push() moves from
  // `item` only on success.
  template <class Wait>
  [[nodiscard]] bool push(T item, Wait& wait, Deadline deadline = kNoDeadline) {
    const bool done = try_push(std::move(item)) ||
                      wait.wait_until([&] { return try_push(std::move(item)); }, deadline);
    if (done) wait.notify();
    return done;
  }
  template <class Wait>
  [[nodiscard]] bool pop(T& out, Wait& wait, Deadline deadline = kNoDeadline) {
    const bool done =
        try_pop(out) || wait.wait_until([&] { return try_pop(out); }, deadline);
    if (done) wait.notify();
    return done;
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
    producer_.position.store(position, std::memory_order_relaxed);  // no concurrent user
    consumer_.position.store(position, std::memory_order_relaxed);  // no concurrent user
    producer_.cached_consumer_position = consumer_.cached_producer_position = position;
    consumer_.position_local = position;
    consumer_.release_at = position + release_batch_;
    producer_.index = consumer_.index = static_cast<std::size_t>(position % slot_count_);
  }

 private:
  static constexpr std::size_t kSlotAlign = std::max(alignof(T), kCacheLine);
  // Unused slots at each end of the array, covering kFalseSharingRange bytes.
  static constexpr std::size_t kPadSlots = (kFalseSharingRange + sizeof(T) - 1) / sizeof(T);
  // The consumer frees about this many bytes of slots at a time (64 lines):
  // enough that a producer waiting on a full ring gets a long run of slots
  // the consumer has left, small next to the ring. At most capacity / 8.
  static constexpr std::size_t kReleaseBytes = 64 * kCacheLine;

  static std::size_t release_batch_for(std::size_t capacity) noexcept {
    return std::max<std::size_t>(1, std::min(kReleaseBytes / sizeof(T), capacity / 8));
  }
  static T* allocate(std::size_t slot_count) {
    const std::size_t bytes = (slot_count + 2 * kPadSlots) * sizeof(T);
    return static_cast<T*>(::operator new(bytes, std::align_val_t{kSlotAlign}));
  }
  static std::size_t next_index(std::size_t index, std::size_t slot_count) noexcept {
    return index + 1 == slot_count ? 0 : index + 1;
  }
  static std::size_t advance_index(std::size_t index, std::size_t count,
                                   std::size_t slot_count) noexcept {
    index += count;  // count <= slot_count, so one subtraction suffices
    return index >= slot_count ? index - slot_count : index;
  }

  // True when the item at `position` is published (consumer side).
  bool refresh_if_empty(std::uint64_t position) noexcept {
    if (position != consumer_.cached_producer_position) return true;
    // acquire: pairs with the producer's release of producer_position; the
    // items before it are fully constructed.
    consumer_.cached_producer_position = producer_.position.load(std::memory_order_acquire);
    if (position != consumer_.cached_producer_position) return true;
    release_to(position);  // empty: give the producer every slot back
    return false;
  }

  // Moves past the item at `position` (slot `index`). Releases a full group,
  // or everything once we have caught up with what the producer has
  // published (the producer is not short of space then, and size()/empty()
  // become exact).
  void advance_consumer(std::uint64_t position, std::size_t index) noexcept {
    const std::uint64_t next = position + 1;
    const bool release = next == consumer_.release_at || next == consumer_.cached_producer_position;
    consumer_.index = next_index(index, consumer_.slot_count);
    consumer_.position_local = next;
    if (release) release_to(next);
  }

  // Publishes the consumer's progress: every slot before `position` is free
  // for the producer.
  void release_to(std::uint64_t position) noexcept {
    consumer_.release_at = position + consumer_.release_batch;
    // relaxed: only this thread writes consumer_position.
    if (consumer_.position.load(std::memory_order_relaxed) == position) return;
    // release: the reads and destruction of the freed slots happen before the
    // producer reuses them; pairs with the producer's acquire of
    // consumer_position in try_emplace()/try_push_n().
    consumer_.position.store(position, std::memory_order_release);
  }

  // Everything the producer touches on a push, on its own lines.
  struct alignas(kFalseSharingRange) ProducerSide {
    std::atomic<std::uint64_t> position{0};  // written by producer, read by consumer
    std::uint64_t cached_consumer_position{0};  // producer-local copy, refreshed when full
    std::size_t index{0};                       // slot of `position`
    T* slots{nullptr};                          // immutable copies of the array and size
    std::size_t slot_count{0};
  };
  // Everything the consumer touches on a pop, on its own lines.
  struct alignas(kFalseSharingRange) ConsumerSide {
    // Released position: written by the consumer, read by the producer.
    std::atomic<std::uint64_t> position{0};
    std::uint64_t position_local{0};            // consumer-local: next item to take
    std::uint64_t cached_producer_position{0};  // consumer-local copy, refreshed when empty
    std::size_t index{0};                       // slot of position_local
    std::uint64_t release_at{0};                // position at which the next group is freed
    T* slots{nullptr};                          // immutable copies
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
  T* const storage_;
};

}  // namespace rill::detail
