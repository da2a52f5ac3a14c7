#include "rill/producer.hpp"

#include <fmt/format.h>

#include <cassert>
#include <random>

#include "client/producer_impl.hpp"

namespace rill::client {
namespace {

void validate(const ProducerOptions& o) {
  if (o.batch_bytes < 128 || o.batch_bytes > (std::size_t{64} << 20)) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("producer batch_bytes = {}: must be between 128 and {}", o.batch_bytes,
                            std::size_t{64} << 20));
  }
  if (o.linger.count() < 0) {
    throw Error(ErrorCode::invalid_argument, "producer linger must not be negative");
  }
}

// Completes `c` with `outcome` and hands over the open-batch bias for the
// `futures` futures' own counts.
void finish_completion(detail::SendCompletion& c, std::int64_t futures, const BatchOutcome& outcome) noexcept {
  c.base_offset = outcome.base_offset;
  c.durable = outcome.durable;
  c.base_sequence = outcome.base_sequence;
  c.error = outcome.error;
  // release: pairs with the acquire loads of `done` in SendFuture.
  c.done.store(1, std::memory_order_release);
  c.done.notify_all();  // libstdc++ makes no system call without a waiter
  // acq_rel: the last holder recycles it after every other holder is done.
  const std::int64_t left =
      c.references.fetch_add(futures - detail::SendCompletion::kOpenBias, std::memory_order_acq_rel) + futures -
      detail::SendCompletion::kOpenBias;
  if (left == 0) c.pool->recycle(&c);
}

}  // namespace

TopicHandle::TopicHandle(std::shared_ptr<const broker::TopicRef> t, const broker::Broker& broker,
                         const ProducerOptions& options, std::uint32_t seed)
    : state(std::move(t)),
      keyless(options.keyless, state->partition_count(), seed),
      batch_limit(std::min(options.batch_bytes, broker.max_batch_bytes(*state, 0))),
      defers_sync(state->options().storage == StorageKind::durable &&
                  state->options().fsync == FsyncPolicy::every_batch) {
  for (std::int32_t p = 0; p < state->partition_count(); ++p) {
    auto acc = std::make_unique<PartitionAccumulator>();
    acc->topic = this;
    acc->partition = p;
    accumulators.push_back(std::move(acc));
  }
}

ProducerImpl::ProducerImpl(std::shared_ptr<broker::Broker> broker, const ProducerOptions& options)
    : broker_(std::move(broker)), options_(options), pool_(nullptr) {
  validate(options);
  idempotence_ = IdempotenceClaim(broker_, options_.idempotence_id);
  pool_ = new CompletionPool();
  if (options_.linger.count() > 0) timer_ = std::thread([this] { linger_loop(); });
}

ProducerImpl::~ProducerImpl() {
  close();
  pool_->release_owner();
}

void ProducerImpl::close() {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;  // acq_rel: once
  if (timer_.joinable()) {
    {
      std::lock_guard lock(timer_mutex_);
      timer_stop_ = true;
    }
    timer_wake_.notify_all();
    timer_.join();
  }
  flush();
  idempotence_.release();
}

TopicHandle* ProducerImpl::find_handle(std::string_view topic) noexcept {
  try {
    std::lock_guard lock(handles_mutex_);
    for (const auto& h : handles_) {
      if (h->state->name() == topic && !h->state->deleted()) return h.get();
    }
    auto state = broker_->resolve(topic);
    if (!state) return nullptr;
    auto h = std::make_unique<TopicHandle>(std::move(state), *broker_, options_,
                                           static_cast<std::uint32_t>(std::random_device{}()));
    h->producer = this;
    start_sequences(*h);
    handles_.push_back(std::move(h));
    return handles_.back().get();
  } catch (...) {
    return nullptr;
  }
}

TopicHandle* ProducerImpl::handle(std::string_view topic) {
  // relaxed: a flag; a send racing with close() may still go through.
  if (closed_.load(std::memory_order_relaxed)) {
    throw Error(ErrorCode::closed, fmt::format("send to topic \"{}\": the producer is closed", topic));
  }
  // acquire: pairs with the release store below; the handle is fully built.
  TopicHandle* h = last_handle_.load(std::memory_order_acquire);
  if (h != nullptr && h->state->name() == topic && !h->state->deleted()) {
    return h;
  }
  h = find_handle(topic);
  if (h == nullptr) {
    throw Error(ErrorCode::not_found,
                fmt::format("send to topic \"{}\": no such topic (create it with Node::create_topic)", topic));
  }
  last_handle_.store(h, std::memory_order_release);
  return h;
}

std::int32_t ProducerImpl::choose_partition(TopicHandle& h, const Record& record) noexcept {
  if (record.partition != kAnyPartition) return record.partition;
  if (record.key) return client::partition_for_key(*record.key, h.state->partition_count());
  return h.keyless.next();
}

std::shared_ptr<const Error> ProducerImpl::make_error(const TopicHandle& h, std::int32_t partition,
                                                      broker::ProduceStatus status) const {
  const auto& o = h.state->options();
  switch (status) {
    case broker::ProduceStatus::timed_out:
      return std::make_shared<const Error>(
          ErrorCode::timeout,
          fmt::format("topic \"{}\" partition {} stayed full for block_timeout = {} ms "
                      "(FullPolicy::block): its slowest reader did not move",
                      h.state->name(), partition, o.block_timeout.count()));
    case broker::ProduceStatus::full:
      return std::make_shared<const Error>(
          ErrorCode::full,
          fmt::format("topic \"{}\" partition {} is full (FullPolicy::fail, capacity_bytes = {}): "
                      "the record was not sent",
                      h.state->name(), partition, o.capacity_bytes));
    case broker::ProduceStatus::too_large:
      return std::make_shared<const Error>(
          ErrorCode::record_too_large,
          fmt::format("topic \"{}\" partition {}: batch larger than the partition accepts",
                      h.state->name(), partition));
    case broker::ProduceStatus::failed:
      return std::make_shared<const Error>(
          ErrorCode::io, fmt::format("topic \"{}\" partition {}: the storage failed to append the batch",
                                     h.state->name(), partition));
    case broker::ProduceStatus::ok: break;
  }
  return nullptr;
}

BatchOutcome ProducerImpl::send_batch_locked(PartitionAccumulator& acc, bool wait, bool keep_on_full) {
  const std::span<std::byte> batch = acc.builder->finish(producer_fields(acc));
  const auto deadline = wait ? detail::deadline_after(acc.topic->state->options().block_timeout)
                             : detail::WaitClock::now();
  const broker::ProduceResult r = produce(acc, batch, wait, deadline);
  if (r.status == broker::ProduceStatus::full && keep_on_full) {
    acc.counters.add_batch(r.status, acc.builder->record_count(), batch.size());
    BatchOutcome outcome;
    outcome.status = r.status;
    return outcome;
  }
  BatchOutcome outcome = outcome_of(acc, r, acc.builder->record_count(), batch.size());
  complete(outcome, acc);
  return outcome;
}

BatchOutcome ProducerImpl::outcome_of(PartitionAccumulator& acc, const broker::ProduceResult& r,
                                      std::uint32_t records, std::size_t bytes) {
  BatchOutcome outcome;
  outcome.status = r.status;
  outcome.base_offset = r.base_offset;
  outcome.durable = r.durable;
  outcome.base_sequence = note_append(acc, r, records);
  if (r.status != broker::ProduceStatus::ok) {
    outcome.error = r.error ? r.error : make_error(*acc.topic, acc.partition, r.status);
  }
  if (r.sync_pending_end < 0) {
    acc.counters.add_batch(r.status, records, bytes);
    return outcome;
  }
  outcome.sync_pending_end = r.sync_pending_end;  // counted once settled, as it turns out
  outcome.records = records;
  outcome.bytes = bytes;
  return outcome;
}

broker::ProduceResult ProducerImpl::produce(PartitionAccumulator& acc, std::span<std::byte> batch, bool wait,
                                            detail::Deadline deadline) noexcept {
  return broker_->produce(*acc.topic->state, acc.partition, batch,
                          {broker::Acks::all, wait, deadline, acc.topic->defers_sync});
}

void ProducerImpl::complete(BatchOutcome& outcome, PartitionAccumulator& acc) {
  if (detail::SendCompletion* c = acc.completion; c != nullptr) {
    if (outcome.sync_pending_end < 0) {
      finish_completion(*c, acc.open_futures, outcome);
    } else {
      // Completed by settle() once the sync is done; get() meanwhile finds
      // it detached (flush_for does nothing) and waits for `done`.
      outcome.completion = c;
      outcome.open_futures = acc.open_futures;
    }
    acc.completion = nullptr;
    acc.open_futures = 0;
  }
  outcome.callbacks.swap(acc.callbacks);
  acc.builder->reset();
  acc.counters.set_open_records(0);
  acc.has_records.store(false, std::memory_order_relaxed);  // relaxed: a hint for the timer
  acc.topic->keyless.batch_sent(acc.partition);
}

void ProducerImpl::await_sync(BatchOutcome& outcome, PartitionAccumulator& acc) noexcept {
  std::shared_ptr<const Error> error =
      broker_->await_durable(*acc.topic->state, acc.partition, outcome.sync_pending_end);
  outcome.sync_pending_end = -1;
  if (error) {
    outcome.status = broker::ProduceStatus::failed;  // in the log, but not acknowledged
    outcome.error = std::move(error);
  } else {
    outcome.durable = true;
  }
  {
    std::lock_guard lock(acc.lock);  // the counters are written under it
    acc.counters.add_batch(outcome.status, outcome.records, outcome.bytes);
  }
  if (outcome.completion != nullptr) {
    finish_completion(*outcome.completion, outcome.open_futures, outcome);
    outcome.completion = nullptr;
  }
}

void ProducerImpl::run_callbacks(BatchOutcome& outcome, std::int32_t partition) noexcept {
  for (PendingCallback& pending : outcome.callbacks) {
    const RecordMetadata md{partition, outcome.error ? -1 : outcome.base_offset + pending.index,
                            pending.timestamp, !outcome.error && outcome.durable,
                            outcome.error ? -1 : record_sequence(outcome.base_sequence, pending.index)};
    try {
      pending.callback(md, outcome.error.get());
    } catch (...) {
      // A callback's exception must not unwind through the producer.
    }
  }
  outcome.callbacks.clear();
}

SendFuture ProducerImpl::send_alone(PartitionAccumulator& acc, const Record& record, std::int64_t timestamp,
                                    SendCallback* callback, std::unique_lock<base::SpinLock>& lock) {
  BatchOutcome before;
  if (acc.builder && !acc.builder->empty()) before = send_batch_locked(acc, true, false);
  codec::BatchBuilder alone(codec::BatchBuilder::record_size_bound(record) + codec::kBatchHeaderSize + 8);
  const bool fits = alone.try_append(record, timestamp);
  assert(fits);
  (void)fits;
  const broker::ProduceResult r = produce(acc, alone.finish(producer_fields(acc)), true,
                                         detail::deadline_after(acc.topic->state->options().block_timeout));
  BatchOutcome outcome = outcome_of(acc, r, 1, alone.size_bytes());
  acc.topic->keyless.batch_sent(acc.partition);
  lock.unlock();
  settle(before, acc);
  settle(outcome, acc);
  const bool ok = !outcome.error;
  const RecordMetadata md{acc.partition, ok ? outcome.base_offset : -1, timestamp, ok && outcome.durable,
                          ok ? outcome.base_sequence : -1};
  if (callback != nullptr) {
    try {
      (*callback)(md, outcome.error.get());
    } catch (...) {
    }
    return {};
  }
  return SendFuture(md, std::move(outcome.error));
}

}  // namespace rill::client

namespace rill {

Producer::Producer(const Node& node, const ProducerOptions& options)
    : impl_(std::make_unique<client::ProducerImpl>(detail::broker_of(node), options)) {}
Producer::~Producer() = default;
Producer::Producer(Producer&&) noexcept = default;
Producer& Producer::operator=(Producer&&) noexcept = default;

SendFuture Producer::send(std::string_view topic, const Record& record) {
  return impl_->send(topic, record, nullptr);
}

void Producer::send(std::string_view topic, const Record& record, SendCallback callback) {
  (void)impl_->send(topic, record, &callback);
}

SendStatus Producer::try_send(std::string_view topic, const Record& record, RecordMetadata* out) noexcept {
  return impl_->try_send(topic, record, out);
}

void Producer::flush() { impl_->flush(); }
void Producer::close() { impl_->close(); }

std::int64_t Producer::next_sequence(std::string_view topic, std::int32_t partition) {
  return impl_->next_sequence(topic, partition);
}

ProducerMetrics Producer::metrics() const { return impl_->metrics(); }

}  // namespace rill
