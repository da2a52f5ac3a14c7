// Broadcast: one publisher, two subscribers, every subscriber gets every message.
//
// Setup: 3 threads on a 2-core machine (no pinning), yielding waits. Messages
// are 64 bytes, the first 8 a sequence number each subscriber checks (a gap
// is reported as dropped messages and fails the run; a repeat or reversal
// fails it too). msgs/s counts messages published (each is delivered twice).
//   rill: BroadcastRing in gating mode (the publisher waits for the slowest
//     of the 2 readers, so nothing is dropped), capacity 8192 messages.
//   zeromq.pubsub.inproc: an XPUB socket with ZMQ_XPUB_NODROP=1, so a full
//     subscriber pipe blocks the publisher instead of dropping (default
//     high-water mark, 1000 messages per pipe), 2 SUB sockets over inproc://,
//     each subscribed to everything; the publisher waits for both
//     subscriptions (ZMQ_XPUB_VERBOSE) before the clock starts.
// Messages per round: 20M (full), 1M (--quick); ZeroMQ moves a tenth.
#include <array>
#include <cstring>
#include <memory>

#include <fmt/core.h>

#include "harness.hpp"
#include "peers/zmq_socket.hpp"
#include "rill/detail/broadcast_ring.hpp"

namespace rill::bench {
namespace {

constexpr std::size_t kMessageSize = 64;
constexpr std::size_t kCapacity = 8192;
constexpr int kSubscribers = 2;

using Message = std::array<std::byte, kMessageSize>;

// Per subscriber: the next sequence number expected and what went wrong.
struct Expectation {
  std::uint64_t next = 0;
  std::uint64_t dropped = 0;
  std::string error;

  void take(std::uint64_t seq) {
    if (seq > next) {
      dropped += seq - next;
    } else if (seq < next && error.empty()) {
      error = fmt::format("message {} after {}", seq, next - 1);
    }
    next = seq + 1;
  }
};

RunResult finish(std::uint64_t n, double seconds, const std::vector<Expectation>& subscribers) {
  RunResult r = throughput(n, kMessageSize, seconds);
  for (std::size_t i = 0; i < subscribers.size(); ++i) {
    const Expectation& e = subscribers[i];
    if (!r.error.empty()) break;
    if (!e.error.empty()) {
      r.error = fmt::format("subscriber {}: {}", i, e.error);
    } else if (e.dropped != 0 || e.next != n) {
      r.error = fmt::format("subscriber {}: {} dropped, {} of {} received", i, e.dropped,
                            e.next - e.dropped, n);
    }
  }
  return r;
}

RunResult run_rill(const RunConfig& config) {
  using Ring = rill::detail::BroadcastRing<Message>;
  const std::uint64_t n = config.messages;
  auto ring = std::make_unique<Ring>(kCapacity, rill::detail::BroadcastMode::gating, kSubscribers);
  std::vector<Ring::ReaderId> readers;
  for (int i = 0; i < kSubscribers; ++i) {
    auto id = ring->register_reader();
    if (!id) throw std::runtime_error("broadcast ring refused a reader");
    readers.push_back(*id);
  }
  std::vector<Expectation> expectations(kSubscribers);
  std::vector<std::function<void(int)>> bodies;
  bodies.emplace_back([&](int) {
    Message message{};
    for (std::uint64_t i = 0; i < n; ++i) {
      std::memcpy(message.data(), &i, sizeof(i));
      while (!ring->try_publish(message)) std::this_thread::yield();
    }
  });
  for (int s = 0; s < kSubscribers; ++s) {
    bodies.emplace_back([&, s](int) {
      Expectation& e = expectations[static_cast<std::size_t>(s)];
      const Ring::ReaderId id = readers[static_cast<std::size_t>(s)];
      Message message{};
      while (e.next < n && e.error.empty()) {
        const rill::detail::BroadcastRead got = ring->try_read(id, message);
        if (got.status == rill::detail::BroadcastReadStatus::empty) {
          std::this_thread::yield();
        } else if (got.status == rill::detail::BroadcastReadStatus::lost) {
          e.error = fmt::format("gating ring reported {} lost", got.lost_count);
        } else {
          std::uint64_t seq = 0;
          std::memcpy(&seq, message.data(), sizeof(seq));
          e.take(seq);
        }
      }
      ring->unregister_reader(id);  // a reader that stopped early no longer gates
    });
  }
  return finish(n, run_threads(bodies, false), expectations);
}

RunResult run_zeromq(const RunConfig& config) {
  const std::uint64_t n = config.messages;
  zmq::Context context;
  zmq::Socket publisher(context, ZMQ_XPUB);
  publisher.set(ZMQ_XPUB_NODROP, 1);
  publisher.set(ZMQ_XPUB_VERBOSE, 1);
  const std::string endpoint = zmq::inproc_endpoint("broadcast");
  publisher.bind(endpoint);
  std::vector<std::unique_ptr<zmq::Socket>> subscribers;
  for (int i = 0; i < kSubscribers; ++i) {
    subscribers.push_back(std::make_unique<zmq::Socket>(context, ZMQ_SUB));
    subscribers.back()->set(ZMQ_RCVTIMEO, 5000);
    subscribers.back()->subscribe_all();
    subscribers.back()->connect(endpoint);
  }
  publisher.set(ZMQ_RCVTIMEO, 5000);
  publisher.set(ZMQ_SNDTIMEO, 5000);  // a stuck subscriber fails the run, never hangs it
  for (int i = 0; i < kSubscribers; ++i) {  // one subscription message per subscriber
    std::array<char, 16> subscription{};
    if (publisher.receive(subscription.data(), subscription.size()) < 0) {
      zmq::fail("waiting for the subscriptions");
    }
  }
  std::vector<Expectation> expectations(kSubscribers);
  std::string send_error;
  std::vector<std::function<void(int)>> bodies;
  bodies.emplace_back([&](int) {
    Message message{};
    for (std::uint64_t i = 0; i < n; ++i) {
      std::memcpy(message.data(), &i, sizeof(i));
      if (!publisher.send(message.data(), message.size())) {
        send_error = "zmq_send failed or timed out";
        return;
      }
    }
  });
  for (int s = 0; s < kSubscribers; ++s) {
    bodies.emplace_back([&, s](int) {
      Expectation& e = expectations[static_cast<std::size_t>(s)];
      Message message{};
      while (e.next < n) {
        if (subscribers[static_cast<std::size_t>(s)]->receive(message.data(), message.size()) !=
            static_cast<int>(kMessageSize)) {
          e.error = "receive timed out or failed";
          return;
        }
        std::uint64_t seq = 0;
        std::memcpy(&seq, message.data(), sizeof(seq));
        e.take(seq);
      }
    });
  }
  RunResult r = finish(n, run_threads(bodies, false), expectations);
  if (r.error.empty()) r.error = send_error;
  return r;
}

}  // namespace

void add_ring_broadcast_cases(std::vector<Case>& cases) {
  Case c{"ring.broadcast.1p2c.64B", 20'000'000, 1'000'000, {}};
  c.systems.push_back({"rill", run_rill});
  c.systems.push_back({"zeromq.pubsub.inproc", run_zeromq, 0.1});
  cases.push_back(std::move(c));
}

}  // namespace rill::bench
