// SPSC round trip: ping-pong latency through two rings.
//
// Setup: 2 threads, the initiator pinned to core 0, the echo thread to core 1,
// both busy-spinning. The initiator pushes an 8-byte sequence number into the
// ping ring and spins until the echo thread has popped it and pushed it back
// through the pong ring; it checks the number it gets back. Capacity 1024
// items per ring (only one is ever in flight). One steady_clock reading per
// round trip: latency i = t(i) - t(i-1), so the clock's own cost (~20 ns
// with a TSC clock source) is paid once per trip and alike by every system.
// limit.atomic_pingpong bounces one cache line between the threads (an
// atomic counter the initiator makes odd and the echo thread makes even):
// the floor for any two-thread round trip on this machine.
// Round trips per round: 1M (full), 100k (--quick). msgs/s counts round trips.
#include <boost/lockfree/spsc_queue.hpp>
#include <readerwriterqueue/readerwriterqueue.h>

#include <memory>

#include "rill/detail/cache.hpp"
#include "rill/detail/spsc_ring.hpp"
#include "harness.hpp"

#include <fmt/core.h>

namespace rill::bench {
namespace {

constexpr std::size_t kCapacity = 1024;

// Runs n round trips; push_ping/pop_ping/push_pong/pop_pong wrap the rings.
template <class PushPing, class PopPing, class PushPong, class PopPong>
RunResult round_trips(std::uint64_t n, PushPing push_ping, PopPing pop_ping, PushPong push_pong,
                      PopPong pop_pong) {
  RunResult r;
  r.latencies_ns.resize(n);
  std::string error;
  r.seconds = run_threads(
      {[&](int) {
         auto send = push_ping;  // copies in this thread's frame: no reload per trip
         auto receive = pop_pong;
         auto previous = Clock::now();
         for (std::uint64_t i = 0; i < n; ++i) {
           while (!send(i)) cpu_relax();
           std::uint64_t back = 0;
           while (!receive(back)) cpu_relax();
           const auto now = Clock::now();
           r.latencies_ns[i] = static_cast<std::uint64_t>(
               std::chrono::duration_cast<std::chrono::nanoseconds>(now - previous).count());
           previous = now;
           if (back != i && error.empty()) error = fmt::format("sent {} and got {} back", i, back);
         }
       },
       [&](int) {
         auto receive = pop_ping;
         auto send = push_pong;
         for (std::uint64_t i = 0; i < n; ++i) {
           std::uint64_t value = 0;
           while (!receive(value)) cpu_relax();
           while (!send(value)) cpu_relax();
         }
       }},
      true);
  r.messages = n;
  r.bytes = n * sizeof(std::uint64_t);
  r.error = error;
  return r;
}

RunResult run_rill(const RunConfig& config) {
  using Ring = rill::detail::SpscRing<std::uint64_t>;
  auto ping = std::make_unique<Ring>(kCapacity);
  auto pong = std::make_unique<Ring>(kCapacity);
  return round_trips(
      config.messages, [q = ping.get()](std::uint64_t v) { return q->try_push(v); },
      [q = ping.get()](std::uint64_t& v) { return q->try_pop(v); },
      [q = pong.get()](std::uint64_t v) { return q->try_push(v); },
      [q = pong.get()](std::uint64_t& v) { return q->try_pop(v); });
}

RunResult run_boost(const RunConfig& config) {
  using Queue = boost::lockfree::spsc_queue<std::uint64_t>;
  auto ping = std::make_unique<Queue>(kCapacity);
  auto pong = std::make_unique<Queue>(kCapacity);
  return round_trips(
      config.messages, [q = ping.get()](std::uint64_t v) { return q->push(v); },
      [q = ping.get()](std::uint64_t& v) { return q->pop(v); },
      [q = pong.get()](std::uint64_t v) { return q->push(v); },
      [q = pong.get()](std::uint64_t& v) { return q->pop(v); });
}

RunResult run_rwq(const RunConfig& config) {
  using Queue = moodycamel::ReaderWriterQueue<std::uint64_t>;
  auto ping = std::make_unique<Queue>(kCapacity);
  auto pong = std::make_unique<Queue>(kCapacity);
  return round_trips(
      config.messages, [q = ping.get()](std::uint64_t v) { return q->try_enqueue(v); },
      [q = ping.get()](std::uint64_t& v) { return q->try_dequeue(v); },
      [q = pong.get()](std::uint64_t v) { return q->try_enqueue(v); },
      [q = pong.get()](std::uint64_t& v) { return q->try_dequeue(v); });
}

// One cache line: the initiator stores 2i+1, the echo thread answers 2i+2.
RunResult run_atomic_pingpong(const RunConfig& config) {
  struct alignas(rill::detail::kCacheLine) Line {
    std::atomic<std::uint64_t> value{0};
  };
  auto line = std::make_unique<Line>();
  // Release stores pair with the other thread's acquire loads so the
  // handshake orders like a ring's publish does.
  return round_trips(
      config.messages,
      [l = line.get()](std::uint64_t i) {
        l->value.store(2 * i + 1, std::memory_order_release);
        return true;
      },
      [l = line.get()](std::uint64_t& v) {
        const std::uint64_t seen = l->value.load(std::memory_order_acquire);
        if ((seen & 1) == 0) return false;
        v = seen;
        return true;
      },
      [l = line.get()](std::uint64_t v) {
        l->value.store(v + 1, std::memory_order_release);
        return true;
      },
      [l = line.get()](std::uint64_t& v) {
        const std::uint64_t seen = l->value.load(std::memory_order_acquire);
        if (seen == 0 || (seen & 1) == 1) return false;
        v = seen / 2 - 1;  // 2i+2 -> i
        return true;
      });
}

}  // namespace

void add_ring_rtt_cases(std::vector<Case>& cases) {
  Case c{"ring.spsc.rtt", 1'000'000, 100'000, {}};
  c.systems.push_back({"rill", run_rill});
  c.systems.push_back({"boost.spsc_queue", run_boost});
  c.systems.push_back({"moodycamel.rwq", run_rwq});
  c.systems.push_back({"limit.atomic_pingpong", run_atomic_pingpong});
  cases.push_back(std::move(c));
}

}  // namespace rill::bench
