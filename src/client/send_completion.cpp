#include "client/send_completion.hpp"

#include "client/producer_impl.hpp"

namespace rill::client {

detail::SendCompletion* CompletionPool::acquire(PartitionAccumulator* owner, std::int32_t partition) {
  detail::SendCompletion* c = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      c = free_.back();
      free_.pop_back();
    }
  }
  if (c == nullptr) c = new detail::SendCompletion();
  // relaxed: a count; the pool is alive (the producer holds it).
  references_.fetch_add(1, std::memory_order_relaxed);
  c->pool = this;
  c->owner = owner;
  c->partition = partition;
  c->base_offset = -1;
  c->base_sequence = -1;
  c->error.reset();
  // relaxed: the completion is not yet shared; the accumulator's lock and
  // the future's construction publish it.
  c->done.store(0, std::memory_order_relaxed);
  c->references.store(detail::SendCompletion::kOpenBias, std::memory_order_relaxed);
  return c;
}

void CompletionPool::recycle(detail::SendCompletion* c) noexcept {
  c->error.reset();
  try {
    std::lock_guard lock(mutex_);
    free_.push_back(c);
  } catch (...) {
    delete c;  // could not grow the free list
  }
  unref();
}

void CompletionPool::release_owner() noexcept { unref(); }

void CompletionPool::unref() noexcept {
  // acq_rel: the thread that reaches 0 sees every other thread's recycle.
  if (references_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

CompletionPool::~CompletionPool() {
  for (detail::SendCompletion* c : free_) delete c;
}

}  // namespace rill::client

namespace rill::detail {

void release_completion(SendCompletion* completion) noexcept {
  // acq_rel: the last holder recycles it after every other holder is done.
  if (completion->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    completion->pool->recycle(completion);
  }
}

}  // namespace rill::detail

namespace rill {

SendFuture::SendFuture(SendFuture&& other) noexcept
    : completion_(std::exchange(other.completion_, nullptr)),
      error_(std::move(other.error_)),
      metadata_(other.metadata_),
      index_(other.index_),
      ready_(std::exchange(other.ready_, false)) {}

SendFuture& SendFuture::operator=(SendFuture&& other) noexcept {
  if (this != &other) {
    if (completion_ != nullptr) detail::release_completion(completion_);
    completion_ = std::exchange(other.completion_, nullptr);
    error_ = std::move(other.error_);
    metadata_ = other.metadata_;
    index_ = other.index_;
    ready_ = std::exchange(other.ready_, false);
  }
  return *this;
}

bool SendFuture::ready() const noexcept {
  // acquire: pairs with the release store of `done` in finish_completion (producer.cpp).
  return ready_ || (completion_ != nullptr && completion_->done.load(std::memory_order_acquire) != 0);
}

RecordMetadata SendFuture::get() {
  if (!ready_) {
    if (completion_ == nullptr) throw Error(ErrorCode::invalid_argument, "SendFuture::get() on an empty future");
    detail::SendCompletion* c = completion_;
    // acquire: pairs with the release store of `done` in finish_completion (producer.cpp).
    if (c->done.load(std::memory_order_acquire) == 0) {
      client::PartitionAccumulator* owner = c->owner;  // fixed while we hold a reference
      owner->topic->producer->flush_for(*owner, c);
      // acquire (in wait and load): as above.
      while (c->done.load(std::memory_order_acquire) == 0) c->done.wait(0, std::memory_order_acquire);
    }
    metadata_.offset = c->error ? -1 : c->base_offset + index_;
    metadata_.durable = !c->error && c->durable;
    metadata_.sequence = c->error ? -1 : client::record_sequence(c->base_sequence, index_);
    error_ = c->error;
    ready_ = true;
    completion_ = nullptr;
    detail::release_completion(c);
  }
  if (error_) throw *error_;
  return metadata_;
}

}  // namespace rill
