// ring::FrameRing against a queue of owned messages: 2 producers -> 1 consumer.
//
// Setup: 3 threads on a 2-core machine, not pinned; every system yields when
// full or empty. Each message is 100 bytes: the producer's id (4 bytes), its
// sequence number (8 bytes), then filler derived from both; the consumer
// checks every byte and that each producer's numbers arrive dense and in
// order.
//   rill: FrameRing of 64 KiB, FullPolicy::block, one record per frame;
//     try_claim with the reader's position as limit, write_body, commit; the
//     reader copies each body out (FrameReader::try_read into a reused
//     buffer).
//   moodycamel.concurrentqueue.owned: a ConcurrentQueue<std::string> (one
//     allocation per message, as for an owned message), a token per thread,
//     enqueue; every 64 messages a producer yields while size_approx() >=
//     640 (about 64 KiB of messages), so it stays bounded like the ring.
// Messages per round: 10M (full), 500k (--quick).
#include <concurrentqueue/concurrentqueue.h>

#include <array>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "harness.hpp"
#include "ring/frame_ring.hpp"

namespace rill::bench {
namespace {

constexpr std::size_t kMessageBytes = 100;
constexpr std::size_t kRingBytes = 64 * 1024;
constexpr std::size_t kQueueBound = kRingBytes / kMessageBytes;

void make_message(std::uint32_t producer, std::uint64_t seq, char* out) noexcept {
  std::memcpy(out, &producer, 4);
  std::memcpy(out + 4, &seq, 8);
  std::memset(out + 12, static_cast<int>((producer * 131 + seq) & 0xff), kMessageBytes - 12);
}

// Per producer, the next number expected; the first error found.
struct MessageCheck {
  std::array<std::uint64_t, 2> next{0, 0};
  std::string error;

  void check(const char* data, std::size_t size) {
    std::uint32_t producer = 0;
    std::uint64_t seq = 0;
    if (size == kMessageBytes) {
      std::memcpy(&producer, data, 4);
      std::memcpy(&seq, data + 4, 8);
    }
    std::array<char, kMessageBytes> expected{};
    if (producer < 2) make_message(producer, seq, expected.data());
    const bool ok = size == kMessageBytes && producer < 2 && seq == next[producer] &&
                    std::memcmp(expected.data(), data, kMessageBytes) == 0;
    if (!ok && error.empty()) {
      error = fmt::format("message {} of producer {}: wrong bytes or order", seq, producer);
    }
    if (producer < 2) next[producer] = seq + 1;
  }
};

template <class Send, class Receive>
RunResult two_to_one(std::uint64_t n, Send send, Receive receive) {
  const std::uint64_t per_producer = n / 2;
  MessageCheck check;
  std::vector<std::function<void(int)>> bodies;
  for (std::uint32_t p = 0; p < 2; ++p) {
    bodies.emplace_back([&, p](int) {
      auto local_send = send();
      std::array<char, kMessageBytes> message{};
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        make_message(p, i, message.data());
        while (!local_send(message.data(), i)) std::this_thread::yield();
      }
    });
  }
  bodies.emplace_back([&](int) {
    auto local_receive = receive();
    for (std::uint64_t i = 0; i < 2 * per_producer; ++i) {
      while (!local_receive(check)) std::this_thread::yield();
    }
  });
  RunResult r = throughput(2 * per_producer, kMessageBytes, run_threads(bodies, false));
  r.error = check.error;
  return r;
}

RunResult run_rill(const RunConfig& config) {
  auto ring = std::make_unique<ring::FrameRing>(kRingBytes, FullPolicy::block);
  ring::FrameReader reader(*ring);
  std::string error;
  RunResult r = two_to_one(
      config.messages,
      [&] {
        return [&](const char* message, std::uint64_t) {
          const ring::FrameClaim claim = ring->try_claim(kMessageBytes, 1, reader.position());
          if (claim.status != ring::ClaimStatus::ok) return false;
          ring->write_body(claim, 0,
                           {reinterpret_cast<const std::byte*>(message), kMessageBytes});
          if (!ring->commit(claim) && error.empty()) error = "a commit failed";
          return true;
        };
      },
      [&] {
        return [&, body = std::vector<std::byte>()](MessageCheck& check) mutable {
          const ring::FrameRead read = reader.try_read(body);
          if (read.status == ring::FrameReadStatus::empty) return false;
          if (read.status != ring::FrameReadStatus::ok) {
            check.error = "a frame was aborted or lost";
            return true;
          }
          check.check(reinterpret_cast<const char*>(body.data()), body.size());
          return true;
        };
      });
  if (r.error.empty()) r.error = error;
  return r;
}

RunResult run_moodycamel_owned(const RunConfig& config) {
  moodycamel::ConcurrentQueue<std::string> queue(kQueueBound);
  return two_to_one(
      config.messages,
      [&] {
        return [&, token = std::make_shared<moodycamel::ProducerToken>(queue)](
                   const char* message, std::uint64_t i) {
          if (i % 64 == 0 && queue.size_approx() >= kQueueBound) return false;
          return queue.enqueue(*token, std::string(message, kMessageBytes));
        };
      },
      [&] {
        return [&, token = std::make_shared<moodycamel::ConsumerToken>(queue),
                message = std::string()](MessageCheck& check) mutable {
          if (!queue.try_dequeue(*token, message)) return false;
          check.check(message.data(), message.size());
          return true;
        };
      });
}

}  // namespace

void add_ring_frames_cases(std::vector<Case>& cases) {
  Case c{"ring.frames.2p1c.100B", 10'000'000, 500'000, {}};
  c.systems.push_back({"rill", run_rill});
  c.systems.push_back({"moodycamel.concurrentqueue.owned", run_moodycamel_owned});
  cases.push_back(std::move(c));
}

}  // namespace rill::bench
