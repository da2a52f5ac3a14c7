// SPSC ring throughput: one producer thread, one consumer thread.
//
// Setup: 2 threads, producer pinned to core 0, consumer to core 1, both
// busy-spin (with a pause instruction) when the ring is full or empty.
//   ring.spsc.8B / 64B / 1KiB : one item per call; the item is a trivially
//       copyable struct of exactly that size whose first 8 bytes are a
//       sequence number the consumer checks. Capacity 4096 items (8B, 64B)
//       and 1024 items (1KiB, i.e. 1 MiB of slots).
//   ring.spsc.8B.bulk : up to 256 items per call on both sides (rill's
//       try_push_n/try_pop_n on SpscLayout::compact, the layout for batch
//       transfer; boost's range push/pop), capacity 4096.
//   limit.memcpy (1KiB only): one thread copies each 1 KiB item into the
//       next slot of a 1 MiB buffer; the single-core copy ceiling.
// Peers: boost::lockfree::spsc_queue (run-time capacity),
// moodycamel::ReaderWriterQueue (try_enqueue/try_dequeue: never allocates
// after construction). Messages per round: 60M / 30M / 6M (full),
// 4M / 2M / 500k (--quick); the bulk case moves 400M (full), 20M (--quick).
#include <boost/lockfree/spsc_queue.hpp>
#include <readerwriterqueue/readerwriterqueue.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "rill/detail/spsc_ring.hpp"
#include "spsc_common.hpp"

namespace rill::bench {
namespace {

template <std::size_t Size>
RunResult run_rill(const RunConfig& config, std::size_t capacity) {
  using T = Item<Size>;
  auto ring = std::make_unique<rill::detail::SpscRing<T>>(capacity);
  return spsc_one_by_one<T>(
      config.messages, [q = ring.get()](const T& item) { return q->try_push(item); },
      [q = ring.get()](T& item) { return q->try_pop(item); });
}

template <std::size_t Size>
RunResult run_boost(const RunConfig& config, std::size_t capacity) {
  using T = Item<Size>;
  auto queue = std::make_unique<boost::lockfree::spsc_queue<T>>(capacity);
  return spsc_one_by_one<T>(
      config.messages, [q = queue.get()](const T& item) { return q->push(item); },
      [q = queue.get()](T& item) { return q->pop(item); });
}

template <std::size_t Size>
RunResult run_rwq(const RunConfig& config, std::size_t capacity) {
  using T = Item<Size>;
  auto queue = std::make_unique<moodycamel::ReaderWriterQueue<T>>(capacity);
  return spsc_one_by_one<T>(
      config.messages, [q = queue.get()](const T& item) { return q->try_enqueue(item); },
      [q = queue.get()](T& item) { return q->try_dequeue(item); });
}

RunResult run_memcpy_limit(const RunConfig& config, std::size_t capacity) {
  using T = Item<1024>;
  std::vector<T> slots(capacity);
  T item{};
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < config.messages; ++i) {
    item.seq = i;
    std::memcpy(&slots[i & (capacity - 1)], &item, sizeof(T));
    keep(slots[i & (capacity - 1)]);
  }
  return throughput(config.messages, sizeof(T), seconds_since(start));
}

// limit.crosscore_copy: see the header comment.
RunResult run_crosscore_copy_limit(const RunConfig& config, std::size_t capacity) {
  using T = Item<1024>;
  constexpr std::uint64_t kGroup = 16;  // blocks per position store
  struct alignas(128) Position {
    std::atomic<std::uint64_t> value{0};
  };
  std::vector<T> slots(capacity);
  Position written;  // written by the producer, read by the consumer
  Position read;     // written by the consumer, read by the producer
  const std::uint64_t n = config.messages;
  std::string error;
  const double seconds = run_threads(
      {[&](int) {
         T item{};
         std::uint64_t free_until = capacity;  // producer-local copy of read + capacity
         for (std::uint64_t i = 0; i < n; ++i) {
           while (i == free_until) {
             // acquire: pairs with the consumer's release; those slots are copied out.
             free_until = read.value.load(std::memory_order_acquire) + capacity;
             if (i == free_until) cpu_relax();
           }
           item.seq = i;
           std::memcpy(&slots[i & (capacity - 1)], &item, sizeof(T));
           // release: publishes the group's blocks; pairs with the consumer's acquire.
           if ((i + 1) % kGroup == 0 || i + 1 == n) {
             written.value.store(i + 1, std::memory_order_release);
           }
         }
       },
       [&](int) {
         T item{};
         std::uint64_t i = 0;
         while (i < n) {
           // acquire: pairs with the producer's release; the blocks are written.
           const std::uint64_t end = written.value.load(std::memory_order_acquire);
           if (end == i) {
             cpu_relax();
             continue;
           }
           for (; i < end; ++i) {
             std::memcpy(&item, &slots[i & (capacity - 1)], sizeof(T));
             if (item.seq != i && error.empty()) {
               error = fmt::format("expected block {} and got {}", i, item.seq);
             }
           }
           // release: our copies are done before the producer reuses the slots.
           read.value.store(end, std::memory_order_release);
         }
       }},
      true);
  RunResult r = throughput(n, sizeof(T), seconds);
  r.error = error;
  return r;
}

RunResult run_rill_bulk(const RunConfig& config, std::size_t capacity) {
  using T = Item<8>;
  // The layout for batch transfer: items back to back, no per-slot sequence.
  using Ring = rill::detail::SpscRing<T, rill::detail::SpscLayout::compact>;
  auto ring = std::make_unique<Ring>(capacity);
  return spsc_bulk<T>(
      config.messages,
      [q = ring.get()](const T* items, std::size_t n) { return q->try_push_n(items, n); },
      [q = ring.get()](T* items, std::size_t max) { return q->try_pop_n(items, max); });
}

RunResult run_boost_bulk(const RunConfig& config, std::size_t capacity) {
  using T = Item<8>;
  auto queue = std::make_unique<boost::lockfree::spsc_queue<T>>(capacity);
  return spsc_bulk<T>(
      config.messages, [q = queue.get()](const T* items, std::size_t n) { return q->push(items, n); },
      [q = queue.get()](T* items, std::size_t max) { return q->pop(items, max); });
}

template <std::size_t Size>
Case one_by_one_case(const char* name, std::uint64_t full, std::uint64_t quick,
                     std::size_t capacity) {
  Case c{name, full, quick, {}};
  c.systems.push_back({"rill", [=](const RunConfig& r) { return run_rill<Size>(r, capacity); }});
  c.systems.push_back(
      {"boost.spsc_queue", [=](const RunConfig& r) { return run_boost<Size>(r, capacity); }});
  c.systems.push_back(
      {"moodycamel.rwq", [=](const RunConfig& r) { return run_rwq<Size>(r, capacity); }});
  return c;
}

}  // namespace

void add_ring_spsc_cases(std::vector<Case>& cases) {
  cases.push_back(one_by_one_case<8>("ring.spsc.8B", 60'000'000, 4'000'000, 4096));
  cases.push_back(one_by_one_case<64>("ring.spsc.64B", 30'000'000, 2'000'000, 4096));
  Case kib = one_by_one_case<1024>("ring.spsc.1KiB", 6'000'000, 500'000, 1024);
  kib.systems.push_back({"limit.crosscore_copy",
                         [](const RunConfig& r) { return run_crosscore_copy_limit(r, 1024); }});
  kib.systems.push_back(
      {"limit.memcpy", [](const RunConfig& r) { return run_memcpy_limit(r, 1024); }});
  cases.push_back(std::move(kib));

  Case bulk{"ring.spsc.8B.bulk", 400'000'000, 20'000'000, {}};
  bulk.systems.push_back({"rill", [](const RunConfig& r) { return run_rill_bulk(r, 4096); }});
  bulk.systems.push_back(
      {"boost.spsc_queue", [](const RunConfig& r) { return run_boost_bulk(r, 4096); }});
  cases.push_back(std::move(bulk));
}

}  // namespace rill::bench
