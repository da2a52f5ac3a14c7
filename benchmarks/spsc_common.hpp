// Items and the two-thread transfer loop shared by the SPSC cases.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include <fmt/core.h>

#include "harness.hpp"

namespace rill::bench {

// A trivially copyable message of exactly Size bytes: a sequence number the
// consumer checks, then padding that is copied like any payload.
template <std::size_t Size>
struct Item {
  std::uint64_t seq = 0;
  std::array<std::byte, Size - sizeof(std::uint64_t)> payload{};
};
template <>
struct Item<8> {
  std::uint64_t seq = 0;
};
static_assert(sizeof(Item<8>) == 8 && sizeof(Item<64>) == 64 && sizeof(Item<1024>) == 1024,
              "an item is exactly the size its case names");

// Moves n items, one per call, from a producer on core 0 to a consumer on
// core 1. push(const T&) and pop(T&) return false when the ring is full or
// empty; both sides then spin. The consumer checks every sequence number.
template <class T, class Push, class Pop>
RunResult spsc_one_by_one(std::uint64_t n, Push push, Pop pop) {
  std::string error;
  const double seconds = run_threads(
      {[&](int) {
         auto local_push = push;  // a copy in this thread's frame: no reload per item
         T item{};
         for (std::uint64_t i = 0; i < n; ++i) {
           item.seq = i;
           while (!local_push(item)) cpu_relax();
         }
       },
       [&](int) {
         auto local_pop = pop;
         T item{};
         for (std::uint64_t i = 0; i < n; ++i) {
           while (!local_pop(item)) cpu_relax();
           if (item.seq != i && error.empty()) {
             error = fmt::format("expected item {} and got {}", i, item.seq);
           }
         }
       }},
      true);
  RunResult r = throughput(n, sizeof(T), seconds);
  r.error = error;
  return r;
}

// The same transfer in batches: push_n(const T*, count) and pop_n(T*, max)
// move up to kBulk items per call and return how many they moved.
inline constexpr std::size_t kBulk = 256;

template <class T, class PushN, class PopN>
RunResult spsc_bulk(std::uint64_t n, PushN push_n, PopN pop_n) {
  std::string error;
  const double seconds = run_threads(
      {[&](int) {
         auto local_push_n = push_n;  // a copy in this thread's frame: no reload per call
         std::array<T, kBulk> batch{};
         std::uint64_t next = 0;
         while (next < n) {
           const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(kBulk, n - next));
           for (std::size_t k = 0; k < count; ++k) batch[k].seq = next + k;
           std::size_t sent = 0;
           while (sent < count) {
             const std::size_t moved = local_push_n(batch.data() + sent, count - sent);
             if (moved == 0) cpu_relax();
             sent += moved;
           }
           next += count;
         }
       },
       [&](int) {
         auto local_pop_n = pop_n;
         std::array<T, kBulk> batch{};
         std::uint64_t expected = 0;
         while (expected < n) {
           const std::size_t got = local_pop_n(batch.data(), kBulk);
           if (got == 0) cpu_relax();
           for (std::size_t k = 0; k < got; ++k, ++expected) {
             if (batch[k].seq != expected && error.empty()) {
               error = fmt::format("expected item {} and got {}", expected, batch[k].seq);
             }
           }
         }
       }},
      true);
  RunResult r = throughput(n, sizeof(T), seconds);
  r.error = error;
  return r;
}

}  // namespace rill::bench
