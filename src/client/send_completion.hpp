// SendCompletion: the completion state of one batch, shared by the futures
// of its records. Pooled per producer: no allocation per record or batch in
// steady state.
//
// Design
// - `done` goes 0 -> 1 once (release store after base_offset / error are
//   set); SendFuture::get() acquire-loads it, waiting with std::atomic::wait.
// - `references` is biased: while the batch is open the accumulator holds
//   kOpenBias and counts its futures in a plain integer (under its lock);
//   when the batch completes it adds (futures - kOpenBias) at once. Each
//   future subtracts 1 when destroyed. Whoever brings it to 0 recycles it.
//   So a send costs no atomic increment, and a completion is never recycled
//   while a future or the open batch still refers to it.
// - The pool outlives the producer while completions are out: it counts
//   them and the last one returned after the producer is gone deletes it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "rill/error.hpp"

namespace rill::client {
struct PartitionAccumulator;
class CompletionPool;
}  // namespace rill::client

namespace rill::detail {

class SendCompletion {
 public:
  static constexpr std::int64_t kOpenBias = std::int64_t{1} << 40;

  // Written before `done` is released; read after it is acquired.
  std::int64_t base_offset = -1;
  std::int32_t partition = -1;
  bool durable = false;  // the batch was synced before its append returned
  std::int32_t base_sequence = -1;  // idempotent producers: the batch's first sequence
  std::shared_ptr<const Error> error;

  std::atomic<std::uint32_t> done{0};
  std::atomic<std::int64_t> references{0};
  client::CompletionPool* pool = nullptr;
  // The accumulator whose open batch this is, while it is open: get() asks
  // it to send the batch. Read and cleared under the accumulator's lock.
  client::PartitionAccumulator* owner = nullptr;
};

}  // namespace rill::detail

namespace rill::client {

class CompletionPool {
 public:
  // A fresh completion (pending, biased reference count). Allocates only
  // when the free list is empty.
  [[nodiscard]] detail::SendCompletion* acquire(PartitionAccumulator* owner, std::int32_t partition);
  // Returns `c` (its reference count reached 0).
  void recycle(detail::SendCompletion* c) noexcept;
  // The producer lets go; the pool is deleted once every completion is back.
  void release_owner() noexcept;

 private:
  ~CompletionPool();
  void unref() noexcept;

  std::mutex mutex_;
  std::vector<detail::SendCompletion*> free_;
  // 1 for the producer plus 1 per completion handed out. acq_rel on the
  // decrement so the deleting thread sees every recycle.
  std::atomic<std::int64_t> references_{1};
};

}  // namespace rill::client
