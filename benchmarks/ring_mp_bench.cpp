// Multi-producer rings: 2 producers -> 1 consumer, 2 producers -> 2 consumers.
//
// Setup: 3 or 4 threads on a 2-core machine, so no pinning and every system
// waits by std::this_thread::yield() when full or empty. Items are 8 bytes:
// the producer's id in the top byte, its own sequence number below. Each
// consumer checks that every producer's numbers arrive in increasing order
// (and, for one consumer, with no gap); each producer ends its stream with a
// stop item and a consumer leaves after one stop item (MPMC) or after both
// (MPSC), so every item is taken before the last stop item is. Capacity:
// 8192 items (rill's MpmcRing; rill's MpscRing gives each producer a lane
// of 4096 through make_producer(), the counterpart of moodycamel's producer
// token, so 8192 in all; boost.lockfree.queue preallocates 8192 nodes and uses
// bounded_push; moodycamel's queue uses a producer and a consumer token per
// thread and enqueue, which reuses its blocks once warm; every 64 items a
// producer waits while size_approx() >= 8192, which keeps it bounded too:
// its try_enqueue over a preallocated pool stalled for minutes in a trial
// with two producers, so it is not used).
// rill.shared_lane (MPSC only): the same MpscRing pushed to without handles,
// so every push claims a slot of its one shared lane by CAS.
// Messages per round: 40M (full), 2M (--quick).
#include <boost/lockfree/queue.hpp>
#include <concurrentqueue/concurrentqueue.h>

#include <array>
#include <memory>

#include <fmt/core.h>

#include "harness.hpp"
#include "rill/detail/mpmc_ring.hpp"
#include "rill/detail/mpsc_ring.hpp"

namespace rill::bench {
namespace {

constexpr std::size_t kCapacity = 8192;
constexpr std::uint64_t kStop = ~std::uint64_t{0};
constexpr int kProducerShift = 56;

// A consumer's view: per producer, the last sequence number seen.
struct StreamCheck {
  std::array<std::uint64_t, 2> next{0, 0};
  std::uint64_t taken = 0;
  std::string error;
  bool dense = true;  // a single consumer must see every number

  void take(std::uint64_t item) {
    ++taken;
    const auto producer = static_cast<std::size_t>(item >> kProducerShift);
    const std::uint64_t seq = item & ((std::uint64_t{1} << kProducerShift) - 1);
    const bool ok = producer < next.size() && (dense ? seq == next[producer] : seq >= next[producer]);
    if (!ok && error.empty()) {
      error = fmt::format("producer {}: item {} after {}", producer, seq, next[producer % 2]);
    }
    if (producer < next.size()) next[producer] = seq + 1;
  }
};

// Moves n items from 2 producers to `consumers` consumers. make_ends() is
// called once per thread and returns {push, pop} callables for that thread
// (so a peer can give each thread its own token).
template <class MakeProducer, class MakeConsumer>
RunResult multi(std::uint64_t n, int consumers, MakeProducer make_producer,
                MakeConsumer make_consumer) {
  const std::uint64_t per_producer = n / 2;
  std::vector<StreamCheck> checks(static_cast<std::size_t>(consumers));
  std::vector<std::function<void(int)>> bodies;
  for (int p = 0; p < 2; ++p) {
    bodies.emplace_back([&, p](int) {
      auto push = make_producer();
      const std::uint64_t tag = static_cast<std::uint64_t>(p) << kProducerShift;
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        while (!push(tag | i)) std::this_thread::yield();
      }
      while (!push(kStop)) std::this_thread::yield();
    });
  }
  const int stops_per_consumer = consumers == 1 ? 2 : 1;
  for (int c = 0; c < consumers; ++c) {
    bodies.emplace_back([&, c](int) {
      auto pop = make_consumer();
      StreamCheck& check = checks[static_cast<std::size_t>(c)];
      check.dense = consumers == 1;
      int stops = 0;
      std::uint64_t item = 0;
      while (stops < stops_per_consumer) {
        if (!pop(item)) {
          std::this_thread::yield();
        } else if (item == kStop) {
          ++stops;
        } else {
          check.take(item);
        }
      }
    });
  }
  RunResult r = throughput(2 * per_producer, sizeof(std::uint64_t), run_threads(bodies, false));
  std::uint64_t taken = 0;
  for (const auto& check : checks) {
    taken += check.taken;
    if (r.error.empty()) r.error = check.error;
  }
  if (r.error.empty() && taken != 2 * per_producer) {
    r.error = fmt::format("consumers took {} of {} items", taken, 2 * per_producer);
  }
  return r;
}

RunResult run_rill_mpmc(const RunConfig& config) {
  auto ring = std::make_unique<rill::detail::MpmcRing<std::uint64_t>>(kCapacity);
  return multi(
      config.messages, 2, [&] { return [&](std::uint64_t v) { return ring->try_push(v); }; },
      [&] { return [&](std::uint64_t& v) { return ring->try_pop(v); }; });
}

RunResult run_rill_mpsc(const RunConfig& config) {
  using Ring = rill::detail::MpscRing<std::uint64_t>;
  auto ring = std::make_unique<Ring>(kCapacity / 2);  // per producer lane
  return multi(
      config.messages, 1,
      [&] {
        return [&, producer = std::make_shared<Ring::Producer>(ring->make_producer())](
                   std::uint64_t v) { return producer->try_push(v); };
      },
      [&] { return [&](std::uint64_t& v) { return ring->try_pop(v); }; });
}

// The same ring without handles: every push claims a position of the shared
// lane by CAS (the MpscRing of before the lanes).
RunResult run_rill_mpsc_shared(const RunConfig& config) {
  auto ring = std::make_unique<rill::detail::MpscRing<std::uint64_t>>(kCapacity);
  return multi(
      config.messages, 1, [&] { return [&](std::uint64_t v) { return ring->try_push(v); }; },
      [&] { return [&](std::uint64_t& v) { return ring->try_pop(v); }; });
}

RunResult run_moodycamel(const RunConfig& config, int consumers) {
  using Queue = moodycamel::ConcurrentQueue<std::uint64_t>;
  auto queue = std::make_unique<Queue>(kCapacity);
  return multi(
      config.messages, consumers,
      [&] {
        return [&, token = std::make_shared<moodycamel::ProducerToken>(*queue)](std::uint64_t v) {
          // Bounded like the rings: every 64th item is refused while the
          // queue holds a capacity's worth (size_approx walks the producers).
          if ((v & 63) == 0 && queue->size_approx() >= kCapacity) return false;
          return queue->enqueue(*token, v);
        };
      },
      [&] {
        return [&, token = std::make_shared<moodycamel::ConsumerToken>(*queue)](std::uint64_t& v) {
          return queue->try_dequeue(*token, v);
        };
      });
}

RunResult run_boost(const RunConfig& config, int consumers) {
  auto queue = std::make_unique<boost::lockfree::queue<std::uint64_t>>(kCapacity);
  return multi(
      config.messages, consumers,
      [&] { return [&](std::uint64_t v) { return queue->bounded_push(v); }; },
      [&] { return [&](std::uint64_t& v) { return queue->pop(v); }; });
}

Case mp_case(const char* name, int consumers) {
  Case c{name, 40'000'000, 2'000'000, {}};
  c.systems.push_back({"rill", consumers == 1 ? run_rill_mpsc : run_rill_mpmc});
  if (consumers == 1) c.systems.push_back({"rill.shared_lane", run_rill_mpsc_shared});
  c.systems.push_back({"moodycamel.concurrentqueue",
                       [=](const RunConfig& r) { return run_moodycamel(r, consumers); }});
  c.systems.push_back(
      {"boost.lockfree.queue", [=](const RunConfig& r) { return run_boost(r, consumers); }});
  return c;
}

}  // namespace

void add_ring_mp_cases(std::vector<Case>& cases) {
  cases.push_back(mp_case("ring.mpsc.2p1c.8B", 1));
  cases.push_back(mp_case("ring.mpmc.2p2c.8B", 2));
}

}  // namespace rill::bench
