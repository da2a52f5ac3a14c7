// MpscRing<T>: a bounded multi-producer / single-consumer queue made of one
// single-producer lane per registered producer, merged by the consumer.
//
// Design
// - A producer that calls make_producer() gets a Producer handle that owns
//   one lane: an SpscRing<T> of capacity() items that no other thread writes.
//   Its pushes touch only its own lane's lines (no CAS, no line shared with
//   another producer), and a producer that is descheduled in the middle of a
//   push stalls only its own lane: the consumer goes on with the others.
//   This is the shape of moodycamel's per-producer sub-queues, bounded.
// - Pushes without a handle (try_push, push on the ring) go to one shared
//   lane, a Vyukov ring claimed by CAS (MpmcRing<T, true>): any thread, no
//   registration, but every such push contends on one counter and a claim
//   whose holder is descheduled holds up that lane until it publishes.
// - Order: items of one lane come out in the order they went in, so each
//   Producer's items keep their order, and so do one thread's handle-less
//   pushes. There is no order between lanes (as between moodycamel's
//   producers): the consumer takes up to kBurst items from a lane, then
//   moves to the next, and moves on at once from an empty one, so no lane
//   starves another.
// - Lanes: up to max_producers, each allocated by the first make_producer()
//   that takes its slot and kept until the ring is destroyed. A released
//   handle gives its lane back (a release store of `claimed`); the next
//   owner acquires it and continues from where the last one stopped (the
//   lane's producer-side fields are handed over by that pair), after any
//   items still in it. The consumer keeps its own copy of the lane
//   pointers, taken in index order once lanes_created_ (a relaxed hint)
//   says there are more, each pointer by an acquire load; it looks whenever
//   it comes round to the shared lane.
// - Capacity is per lane: each lane holds at least capacity() items (an
//   SpscRing may hold a little more; see spsc_ring.hpp), so n producers may
//   have up to n * capacity() items in flight.
// - Thread roles: any thread calls make_producer() and the handle-less
//   pushes; a Producer is used by one thread at a time; one consumer thread
//   calls try_pop and pop; size(), empty() and capacity() from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "rill/detail/cache.hpp"
#include "rill/detail/mpmc_ring.hpp"
#include "rill/detail/spsc_ring.hpp"
#include "rill/detail/wait_strategy.hpp"
#include "rill/error.hpp"

namespace rill::detail {

template <class T>
class MpscRing {
  using Lane = SpscRing<T>;

  struct alignas(kFalseSharingRange) LaneSlot {
    // Registration lock of this lane: CAS false -> true (acquire) in
    // make_producer(), store false (release) when a handle lets go.
    std::atomic<bool> claimed{false};
    // Set once (release) by the lane's first owner; read by later owners
    // under `claimed` (relaxed) and by the consumer and size() (acquire).
    std::atomic<Lane*> lane{nullptr};
  };

 public:
  static constexpr std::size_t kDefaultMaxProducers = 16;
  // Items the consumer takes from one lane before it looks at the next.
  static constexpr std::size_t kBurst = 256;

  // One thread's handle on a lane of the ring. Movable, not copyable; the
  // destructor gives the lane back (items already pushed stay in it and are
  // delivered). Must not outlive the ring.
  class Producer {
   public:
    Producer(Producer&& other) noexcept
        : slot_(std::exchange(other.slot_, nullptr)), lane_(other.lane_) {}
    Producer& operator=(Producer&& other) noexcept {
      if (this != &other) {
        release();
        slot_ = std::exchange(other.slot_, nullptr);
        lane_ = other.lane_;
      }
      return *this;
    }
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;
    ~Producer() { release(); }

    // Constructs an item in this producer's lane; false (args untouched)
    // when the lane is full. Never blocks or allocates.
    template <class... A>
    [[nodiscard]] bool try_emplace(A&&... args) noexcept(
        std::is_nothrow_constructible_v<T, A&&...>) {
      return lane_->try_emplace(std::forward<A>(args)...);
    }
    [[nodiscard]] bool try_push(const T& item) noexcept(std::is_nothrow_copy_constructible_v<T>) {
      return lane_->try_push(item);
    }
    // Moves from `item` only when it returns true.
    [[nodiscard]] bool try_push(T&& item) noexcept(std::is_nothrow_move_constructible_v<T>) {
      return lane_->try_push(std::move(item));
    }
    // Blocking form (see retry_then_notify in wait_strategy.hpp).
    template <class Wait>
    [[nodiscard]] bool push(T item, Wait& wait, Deadline deadline = kNoDeadline) {
      return lane_->push(std::move(item), wait, deadline);
    }

   private:
    friend class MpscRing;
    Producer(LaneSlot* slot, Lane* lane) noexcept : slot_(slot), lane_(lane) {}
    void release() noexcept {
      // release: this thread's pushes and the lane's producer-side fields
      // happen before the next owner's acquire CAS in make_producer().
      if (slot_ != nullptr) slot_->claimed.store(false, std::memory_order_release);
      slot_ = nullptr;
    }

    LaneSlot* slot_;
    Lane* lane_;
  };

  // Creates an empty ring whose lanes each take at least `capacity` items
  // (rounded up to a power of two) and that accepts up to `max_producers`
  // handles at once. Allocates the shared lane now, each producer lane at
  // its first make_producer(). Throws rill::Error for capacity or
  // max_producers 0.
  explicit MpscRing(std::size_t capacity, std::size_t max_producers = kDefaultMaxProducers)
      : shared_(capacity), lane_capacity_(shared_.capacity()),
        max_producers_(max_producers), slots_(new LaneSlot[max_producers]),
        consumer_(max_producers) {
    if (max_producers == 0) {
      throw Error(ErrorCode::invalid_argument, "mpsc ring: max_producers must be at least 1");
    }
  }

  MpscRing(const MpscRing&) = delete;
  MpscRing& operator=(const MpscRing&) = delete;

  ~MpscRing() {
    // relaxed: no concurrent user in the destructor.
    for (std::size_t i = 0; i < max_producers_; ++i) {
      delete slots_[i].lane.load(std::memory_order_relaxed);
    }
  }

  // Takes a free lane for the calling thread. Throws rill::Error
  // (invalid_argument) when max_producers handles are alive, and
  // std::bad_alloc if a new lane cannot be allocated. Any thread.
  [[nodiscard]] Producer make_producer() {
    for (std::size_t i = 0; i < max_producers_; ++i) {
      LaneSlot& slot = slots_[i];
      bool expected = false;
      // acquire: pairs with the release in Producer::release(); the last
      // owner's use of the lane happens before ours.
      if (!slot.claimed.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                                std::memory_order_relaxed)) {
        continue;
      }
      // relaxed: only an owner of the slot stores the pointer, and the
      // acquire CAS above ordered the last owner's store before this load.
      Lane* lane = slot.lane.load(std::memory_order_relaxed);
      if (lane == nullptr) {
        try {
          lane = new Lane(lane_capacity_);
        } catch (...) {
          slot.claimed.store(false, std::memory_order_release);  // as in release()
          throw;
        }
        // release: the constructed lane; pairs with the acquire in
        // refresh_lanes() and size().
        slot.lane.store(lane, std::memory_order_release);
        // relaxed: a hint that tells the consumer to look; the pointer above
        // carries the ordering. A CAS loop (fetch_max): slots may be taken
        // first out of index order.
        std::size_t known = lanes_created_.load(std::memory_order_relaxed);
        while (known < i + 1 &&
               !lanes_created_.compare_exchange_weak(known, i + 1, std::memory_order_relaxed,
                                                     std::memory_order_relaxed)) {
        }
      }
      return Producer(&slot, lane);
    }
    throw Error(ErrorCode::invalid_argument,
                "mpsc ring: all " + std::to_string(max_producers_) +
                    " producer lanes are in use (destroy a Producer or raise max_producers)");
  }

  // Handle-less pushes into the shared lane; any thread. False when full.
  template <class... A>
  [[nodiscard]] bool try_emplace(A&&... args) noexcept(std::is_nothrow_constructible_v<T, A&&...>) {
    return shared_.try_emplace(std::forward<A>(args)...);
  }
  [[nodiscard]] bool try_push(const T& item) noexcept(std::is_nothrow_copy_constructible_v<T>) {
    return shared_.try_push(item);
  }
  [[nodiscard]] bool try_push(T&& item) noexcept(std::is_nothrow_move_constructible_v<T>) {
    return shared_.try_push(std::move(item));
  }
  template <class Wait>
  [[nodiscard]] bool push(T item, Wait& wait, Deadline deadline = kNoDeadline) {
    return shared_.push(std::move(item), wait, deadline);
  }

  // Moves the next item (see Order in the Design block) into `out`; false
  // when every lane is empty. Consumer thread only.
  [[nodiscard]] bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    Consumer& c = consumer_;
    // One pass over the lanes at most: the current one first.
    for (std::size_t tried = 0; tried <= c.lane_count; ++tried) {
      const bool got = c.current == c.lane_count ? shared_.try_pop(out)
                                                 : c.lanes[c.current]->try_pop(out);
      if (got) [[likely]] {
        if (--c.burst_left == 0) next_lane(c);
        return true;
      }
      next_lane(c);
    }
    return false;
  }

  template <class Wait>
  [[nodiscard]] bool pop(T& out, Wait& wait, Deadline deadline = kNoDeadline) {
    return retry_then_notify(wait, deadline, [&] { return try_pop(out); });
  }

  // Items in all lanes: a snapshot (see SpscRing::size and MpmcRing::size).
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t total = shared_.size();
    // relaxed: a hint; each lane pointer is acquired below.
    const std::size_t created = lanes_created_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < created; ++i) {
      // acquire: pairs with the release in make_producer(); the lane exists.
      if (const Lane* lane = slots_[i].lane.load(std::memory_order_acquire)) total += lane->size();
    }
    return total;
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  // Items each lane always accepts: the request rounded up to a power of two.
  [[nodiscard]] std::size_t capacity() const noexcept { return lane_capacity_; }
  [[nodiscard]] std::size_t max_producers() const noexcept { return max_producers_; }

  // Test-only: moves the positions of the EMPTY shared lane (see
  // MpmcRing::reset_positions_for_test). No concurrent use.
  void reset_positions_for_test(std::uint64_t position) noexcept {
    shared_.reset_positions_for_test(position);
  }

 private:
  // Consumer-local state, on its own lines.
  struct alignas(kFalseSharingRange) Consumer {
    explicit Consumer(std::size_t max) : lanes(new Lane*[max]) {}
    std::unique_ptr<Lane*[]> lanes;  // copies of slots_[i].lane, i < lane_count
    std::size_t lane_count = 0;      // lanes known; index lane_count is the shared lane
    std::size_t current = 0;         // lane being read
    std::size_t burst_left = kBurst;
  };

  void next_lane(Consumer& c) noexcept {
    c.burst_left = kBurst;
    if (c.current < c.lane_count) {
      ++c.current;
      return;
    }
    refresh_lanes(c);
    c.current = 0;
  }

  // Picks up lanes created since the last look (at the shared lane's turn).
  // Lanes are taken in index order: one whose first owner is still
  // allocating it stops the scan until the next look.
  void refresh_lanes(Consumer& c) noexcept {
    // relaxed: a hint (see make_producer); the common case is "nothing new".
    const std::size_t created = lanes_created_.load(std::memory_order_relaxed);
    while (c.lane_count < created) {
      // acquire: pairs with the release in make_producer(); the lane is
      // constructed.
      Lane* lane = slots_[c.lane_count].lane.load(std::memory_order_acquire);
      if (lane == nullptr) return;
      c.lanes[c.lane_count++] = lane;
    }
  }

  MpmcRing<T, true> shared_;
  const std::size_t lane_capacity_;
  const std::size_t max_producers_;
  std::unique_ptr<LaneSlot[]> slots_;
  // Highest lane index + 1 ever created: raised by make_producer, read by
  // the consumer and size(); a hint only (relaxed), see above.
  alignas(kFalseSharingRange) std::atomic<std::size_t> lanes_created_{0};
  Consumer consumer_;
};

}  // namespace rill::detail
