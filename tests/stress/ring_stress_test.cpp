// Stress tests of every ring: N producers x M consumers, with order and a
// per-item check word verified in the consumer. Sized by RILL_TEST_SCALE.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/detail/broadcast_ring.hpp"
#include "rill/detail/byte_ring.hpp"
#include "rill/detail/mpmc_ring.hpp"
#include "rill/detail/mpsc_ring.hpp"
#include "rill/detail/spsc_ring.hpp"
#include "test_util.hpp"

namespace {

using namespace rill::detail;
using namespace std::chrono_literals;

// A 32-byte item whose check word depends on every other word, so that a torn
// or stale copy is caught.
struct Item {
  std::uint64_t producer = 0;
  std::uint64_t sequence = 0;
  std::uint64_t salt = 0;
  std::uint64_t check = 0;
};

std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
  h ^= c + (h << 6) + (h >> 2);
  return h ^ (h >> 31);
}

Item make_item(std::uint64_t producer, std::uint64_t sequence) {
  const std::uint64_t salt = mix(sequence, producer, 17);
  return {producer, sequence, salt, mix(producer, sequence, salt)};
}

bool intact(const Item& item) {
  return item.salt == mix(item.sequence, item.producer, 17) &&
         item.check == mix(item.producer, item.sequence, item.salt);
}

std::uint64_t items_per_producer() { return 200'000 * rill::test::scale(); }

// Per-consumer record of what it saw; checked on the test thread.
struct Seen {
  std::vector<std::uint64_t> next_sequence;  // per producer
  std::uint64_t count = 0;
  std::uint64_t damaged = 0;
  std::uint64_t out_of_order = 0;

  explicit Seen(std::size_t producers) : next_sequence(producers, 0) {}
  // Items of one producer must arrive in increasing order (gaps allowed when
  // several consumers share the ring).
  void take(const Item& item, bool contiguous) {
    ++count;
    if (!intact(item) || item.producer >= next_sequence.size()) {
      ++damaged;
      return;
    }
    std::uint64_t& next = next_sequence[item.producer];
    if (contiguous ? item.sequence != next : item.sequence < next) ++out_of_order;
    next = item.sequence + 1;
  }
};

// make_push() runs once in each producer thread and returns the callable it
// pushes with: push(item, wait, deadline) -> bool.
template <class Ring, class MakePush>
void run_queue_with(Ring& ring, std::size_t producers, std::size_t consumers, bool contiguous,
                    MakePush make_push) {
  const std::uint64_t per_producer = items_per_producer();
  const std::uint64_t total = per_producer * producers;
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<std::uint64_t> failed_pushes{0};
  std::vector<Seen> seen(consumers, Seen(producers));
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      SpinThenYield wait;
      auto push = make_push();
      for (std::uint64_t s = 0; s < per_producer; ++s) {
        if (!push(make_item(p, s), wait, deadline_after(60s))) failed_pushes.fetch_add(1);
      }
    });
  }
  for (std::size_t c = 0; c < consumers; ++c) {
    threads.emplace_back([&, c] {
      SpinThenYield wait;
      Item item;
      while (consumed.load(std::memory_order_relaxed) < total) {
        if (ring.pop(item, wait, deadline_after(10ms))) {
          seen[c].take(item, contiguous);
          consumed.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failed_pushes.load() == 0);
  std::uint64_t count = 0;
  for (const Seen& s : seen) {
    CHECK(s.damaged == 0);
    CHECK(s.out_of_order == 0);
    count += s.count;
  }
  CHECK(count == total);
  CHECK(ring.empty());
  if (consumers == 1) {
    for (std::uint64_t next : seen[0].next_sequence) CHECK(next == per_producer);
  }
}

template <class Ring>
void run_queue(Ring& ring, std::size_t producers, std::size_t consumers, bool contiguous) {
  run_queue_with(ring, producers, consumers, contiguous, [&] {
    return [&](Item item, SpinThenYield& wait, Deadline deadline) {
      return ring.push(item, wait, deadline);
    };
  });
}

// Each producer thread pushes through its own MpscRing lane.
void run_mpsc_lanes(MpscRing<Item>& ring, std::size_t producers) {
  run_queue_with(ring, producers, 1, true, [&] {
    return [producer = std::make_shared<MpscRing<Item>::Producer>(ring.make_producer())](
               Item item, SpinThenYield& wait, Deadline deadline) {
      return producer->push(item, wait, deadline);
    };
  });
}

}  // namespace

TEST_CASE("ring stress: spsc delivers every item in order", "[stress][ring]") {
  SpscRing<Item> ring(256);
  run_queue(ring, 1, 1, true);
}

TEST_CASE("ring stress: spsc batches deliver every item in order", "[stress][ring]") {
  SpscRing<std::uint64_t> ring(1024);
  const std::uint64_t total = 4 * items_per_producer();
  std::thread producer([&] {
    std::uint64_t batch[64];
    std::uint64_t next = 0;
    while (next < total) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(64, total - next));
      for (std::size_t i = 0; i < want; ++i) batch[i] = mix(next + i, 0, 0);
      const std::size_t pushed = ring.try_push_n(batch, want);
      next += pushed;
      if (pushed == 0) std::this_thread::yield();
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t wrong = 0;
  std::uint64_t out[97];
  while (expected < total) {
    const std::size_t popped = ring.try_pop_n(out, 97);
    for (std::size_t i = 0; i < popped; ++i) wrong += out[i] != mix(expected++, 0, 0);
    if (popped == 0) std::this_thread::yield();
  }
  producer.join();
  CHECK(wrong == 0);
  CHECK(ring.empty());
}

TEST_CASE("ring stress: spsc mixed calls on a tiny ring of plain slots stay in order",
          "[stress][ring]") {
  SpscRing<Item> ring(4);  // 32-byte items: plain slots; many laps
  const std::uint64_t total = items_per_producer() / 4;  // one call moves few items
  std::thread producer([&] {
    Item batch[3];
    std::uint64_t next = 0;
    while (next < total) {
      std::size_t pushed = 0;
      if (next % 2 == 0) {
        pushed = ring.try_push(make_item(0, next)) ? 1 : 0;
      } else {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(3, total - next));
        for (std::size_t i = 0; i < want; ++i) batch[i] = make_item(0, next + i);
        pushed = ring.try_push_n(batch, want);
      }
      next += pushed;
      if (pushed == 0) std::this_thread::yield();
    }
  });
  Seen seen(1);
  Item out[2];
  for (std::uint64_t turn = 0; seen.count < total; ++turn) {
    std::size_t popped = 0;
    if (turn % 3 == 0) {
      if (const Item* front = ring.front(); front != nullptr) {
        seen.take(*front, true);
        ring.pop();
        popped = 1;
      }
    } else if (turn % 3 == 1) {
      popped = ring.try_pop(out[0]) ? 1 : 0;
      if (popped == 1) seen.take(out[0], true);
    } else {
      popped = ring.try_pop_n(out, 2);
      for (std::size_t i = 0; i < popped; ++i) seen.take(out[i], true);
    }
    if (popped == 0) std::this_thread::yield();
  }
  producer.join();
  CHECK(seen.damaged == 0);
  CHECK(seen.out_of_order == 0);
  CHECK(seen.count == total);
  CHECK(ring.empty());
}

TEST_CASE("ring stress: spsc mixed calls on a tiny ring of sequenced slots stay in order",
          "[stress][ring]") {
  SpscRing<std::uint64_t> ring(4);  // 8-byte items: the consumer polls slot sequences
  const std::uint64_t total = items_per_producer() / 4;
  std::thread producer([&] {
    std::uint64_t batch[3];
    std::uint64_t next = 0;
    while (next < total) {
      std::size_t pushed = 0;
      if (next % 2 == 0) {
        pushed = ring.try_push(mix(next, 1, 2)) ? 1 : 0;
      } else {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(3, total - next));
        for (std::size_t i = 0; i < want; ++i) batch[i] = mix(next + i, 1, 2);
        pushed = ring.try_push_n(batch, want);
      }
      next += pushed;
      if (pushed == 0) std::this_thread::yield();
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t wrong = 0;
  std::uint64_t out[2];
  for (std::uint64_t turn = 0; expected < total; ++turn) {
    std::size_t popped = 0;
    if (turn % 3 == 0) {
      if (const std::uint64_t* front = ring.front(); front != nullptr) {
        out[0] = *front;
        ring.pop();
        popped = 1;
      }
    } else if (turn % 3 == 1) {
      popped = ring.try_pop(out[0]) ? 1 : 0;
    } else {
      popped = ring.try_pop_n(out, 2);
    }
    for (std::size_t i = 0; i < popped; ++i) wrong += out[i] != mix(expected++, 1, 2);
    if (popped == 0) std::this_thread::yield();
  }
  producer.join();
  CHECK(wrong == 0);
  CHECK(ring.empty());
}

TEST_CASE("ring stress: mpsc keeps each producer's order", "[stress][ring]") {
  MpscRing<Item> ring(256);
  run_queue(ring, 3, 1, true);
}

TEST_CASE("ring stress: mpsc producers on a tiny ring never overwrite an unread item",
          "[stress][ring]") {
  MpscRing<Item> ring(2);  // almost always full: every push goes through the room check
  run_queue(ring, 3, 1, true);
}

TEST_CASE("ring stress: mpsc producers with their own lanes keep each producer's order",
          "[stress][ring]") {
  MpscRing<Item> ring(256, 3);
  run_mpsc_lanes(ring, 3);
}

TEST_CASE("ring stress: mpsc lanes on tiny rings, with a shared-lane producer beside them",
          "[stress][ring]") {
  MpscRing<Item> ring(2, 2);  // almost always full
  std::atomic<std::size_t> next_producer{0};
  run_queue_with(ring, 3, 1, true, [&] {
    // Producers 0 and 1 take the two lanes, producer 2 pushes without one.
    const bool own_lane = next_producer.fetch_add(1) < 2;
    auto producer = own_lane ? std::make_shared<MpscRing<Item>::Producer>(ring.make_producer())
                             : nullptr;
    return [&ring, producer](Item item, SpinThenYield& wait, Deadline deadline) {
      return producer ? producer->push(item, wait, deadline) : ring.push(item, wait, deadline);
    };
  });
}

TEST_CASE("ring stress: mpmc delivers every item exactly once", "[stress][ring]") {
  MpmcRing<Item> ring(256);
  run_queue(ring, 2, 2, false);
}

TEST_CASE("ring stress: gating broadcast readers see every item in order", "[stress][ring]") {
  constexpr std::size_t kReaders = 3;
  BroadcastRing<Item> ring(128, BroadcastMode::gating, kReaders);
  std::vector<std::size_t> ids;
  for (std::size_t r = 0; r < kReaders; ++r) ids.push_back(*ring.register_reader());
  const std::uint64_t total = items_per_producer();
  std::atomic<std::uint64_t> failures{0};
  std::vector<std::thread> readers;
  for (std::size_t r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      SpinThenYield wait;
      Item item;
      for (std::uint64_t expected = 0; expected < total;) {
        const BroadcastRead result = ring.read(ids[r], item, wait, deadline_after(60s));
        if (result.status != BroadcastReadStatus::ok) {
          failures.fetch_add(1);
          return;
        }
        if (!intact(item) || item.sequence != expected) failures.fetch_add(1);
        ++expected;
      }
    });
  }
  SpinThenYield wait;
  for (std::uint64_t s = 0; s < total; ++s) {
    if (!ring.publish(make_item(0, s), wait, deadline_after(60s))) failures.fetch_add(1);
  }
  for (auto& reader : readers) reader.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("ring stress: gating readers that join and leave mid-stream miss nothing",
          "[stress][ring]") {
  BroadcastRing<Item> ring(64, BroadcastMode::gating, 2);
  const std::size_t steady = *ring.register_reader();
  const std::uint64_t total = items_per_producer();
  std::atomic<std::uint64_t> failures{0};
  std::atomic<bool> done{false};
  // Joins, checks that it reads a gap-free run starting at or after the
  // position it joined at, leaves, and joins again.
  std::thread joiner([&] {
    SpinThenYield wait;
    Item item;
    while (!done.load(std::memory_order_acquire)) {
      const std::optional<std::size_t> id = ring.register_reader();
      if (!id) {
        failures.fetch_add(1);
        return;
      }
      const std::uint64_t start = ring.reader_position(*id);
      for (std::uint64_t expected = start; expected < start + 300; ++expected) {
        const BroadcastRead result = ring.read(*id, item, wait, deadline_after(20ms));
        if (result.status == BroadcastReadStatus::empty) break;  // the producer has finished
        if (result.status != BroadcastReadStatus::ok || !intact(item) || item.sequence != expected) {
          failures.fetch_add(1);
        }
      }
      ring.unregister_reader(*id);
    }
  });
  std::thread steady_reader([&] {
    SpinThenYield wait;
    Item item;
    for (std::uint64_t expected = 0; expected < total; ++expected) {
      const BroadcastRead result = ring.read(steady, item, wait, deadline_after(60s));
      if (result.status != BroadcastReadStatus::ok || item.sequence != expected) failures.fetch_add(1);
    }
  });
  SpinThenYield wait;
  for (std::uint64_t s = 0; s < total; ++s) {
    if (!ring.publish(make_item(0, s), wait, deadline_after(60s))) failures.fetch_add(1);
  }
  steady_reader.join();
  done.store(true, std::memory_order_release);
  joiner.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("ring stress: lossy broadcast readers account for every item", "[stress][ring]") {
  constexpr std::size_t kReaders = 2;
  BroadcastRing<Item> ring(64, BroadcastMode::lossy, kReaders);
  std::vector<std::size_t> ids;
  for (std::size_t r = 0; r < kReaders; ++r) ids.push_back(*ring.register_reader());
  const std::uint64_t total = items_per_producer();
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> delivered{0};
  std::vector<std::thread> readers;
  for (std::size_t r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      Item item;
      std::uint64_t expected = 0;  // next position: delivered items + reported losses
      while (expected < total) {
        const BroadcastRead result = ring.try_read(ids[r], item);
        if (result.status == BroadcastReadStatus::empty) {
          std::this_thread::yield();
        } else if (result.status == BroadcastReadStatus::lost) {
          expected += result.lost_count;
        } else {
          if (!intact(item) || item.sequence != expected) failures.fetch_add(1);
          ++expected;
          delivered.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (expected != total) failures.fetch_add(1);
    });
  }
  std::uint64_t refused = 0;
  for (std::uint64_t s = 0; s < total; ++s) {
    refused += !ring.try_publish(make_item(0, s));
    if (s % 64 == 0) std::this_thread::yield();  // give readers a chance at some items
  }
  CHECK(refused == 0);
  for (auto& reader : readers) reader.join();
  CHECK(failures.load() == 0);
  CHECK(delivered.load() > 0);
}

TEST_CASE("ring stress: byte ring records arrive whole and in order", "[stress][ring]") {
  struct alignas(ByteRing::kRegionAlign) Block {
    std::byte bytes[ByteRing::kRegionAlign];
  };
  std::vector<Block> region(ByteRing::region_bytes_for(4096) / sizeof(Block));
  const std::span<std::byte> bytes(region.front().bytes, region.size() * sizeof(Block));
  ByteRing producer_view = ByteRing::format(bytes);
  ByteRing consumer_view(bytes);
  const std::uint64_t total = 2 * items_per_producer();
  std::thread producer([&] {
    for (std::uint64_t s = 0; s < total;) {
      const std::size_t length = 8 + static_cast<std::size_t>(mix(s, 1, 2) % 200);
      const ByteClaim claim = producer_view.try_claim(length, static_cast<std::uint32_t>(s));
      if (claim.status != ClaimStatus::ok) {
        std::this_thread::yield();
        continue;
      }
      for (std::size_t i = 0; i < length; i += 8) {
        const std::uint64_t word = mix(s, i, 3);
        std::memcpy(claim.bytes.data() + i, &word, std::min<std::size_t>(8, length - i));
      }
      producer_view.commit();
      ++s;
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t wrong = 0;
  while (expected < total) {
    const std::size_t handled = consumer_view.read([&](std::span<const std::byte> payload,
                                                       std::uint32_t type) {
      const std::size_t length = 8 + static_cast<std::size_t>(mix(expected, 1, 2) % 200);
      bool ok = type == static_cast<std::uint32_t>(expected) && payload.size() == length;
      for (std::size_t i = 0; ok && i < length; i += 8) {
        const std::uint64_t word = mix(expected, i, 3);
        ok = std::memcmp(payload.data() + i, &word, std::min<std::size_t>(8, length - i)) == 0;
      }
      wrong += !ok;
      ++expected;
    });
    if (handled == 0) std::this_thread::yield();
  }
  producer.join();
  CHECK(wrong == 0);
  CHECK(consumer_view.size() == 0);
}
