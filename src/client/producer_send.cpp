// The send paths of ProducerImpl (the public Producer is in producer.cpp).
#include <fmt/format.h>

#include <cassert>

#include "base/clock.hpp"
#include "client/producer_impl.hpp"

namespace rill::client {
namespace {

// Starts a batch on an empty accumulator: its clock for timestamp-less records.
void open_batch(PartitionAccumulator& acc, bool lingering) {
  if (!acc.builder->empty()) return;
  acc.batch_timestamp = base::wall_clock_ms();
  if (lingering) acc.opened_at = Clock::now();
  acc.has_records.store(true, std::memory_order_relaxed);  // relaxed: a hint for the timer
}

}  // namespace

SendFuture ProducerImpl::send(std::string_view topic, const Record& record, SendCallback* callback) {
  TopicHandle& h = *handle(topic);
  const std::size_t bound = codec::BatchBuilder::record_size_bound(record);
  const auto& o = h.state->options();
  if (bound > o.max_record_bytes) {
    throw Error(ErrorCode::record_too_large,
                fmt::format("send to topic \"{}\": the record takes {} bytes encoded (key {}, value {}, "
                            "{} headers), more than the topic's max_record_bytes = {}",
                            topic, bound, record.key ? record.key->size() : 0,
                            record.value ? record.value->size() : 0, record.headers.size(),
                            o.max_record_bytes));
  }
  if (!record.key && o.cleanup == CleanupPolicy::compact && o.storage == StorageKind::durable) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("send to topic \"{}\": the topic is compacted (cleanup = compact), which "
                            "keeps the newest record per key: give the record a key",
                            topic));
  }
  if (record.partition != kAnyPartition &&
      (record.partition < 0 || record.partition >= h.state->partition_count())) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("send to topic \"{}\": partition {} does not exist (the topic has {}: 0 to {})",
                            topic, record.partition, h.state->partition_count(),
                            h.state->partition_count() - 1));
  }
  PartitionAccumulator& acc = *h.accumulators[static_cast<std::size_t>(choose_partition(h, record))];
  std::unique_lock lock(acc.lock);
  if (bound + codec::kBatchHeaderSize > h.batch_limit) {
    const std::int64_t ts = record.timestamp != kNoTimestamp ? record.timestamp : base::wall_clock_ms();
    return send_alone(acc, record, ts, callback, lock);
  }
  if (!acc.builder) acc.builder.emplace(h.batch_limit);
  BatchOutcome before;
  if (!acc.builder->empty() && acc.builder->size_bytes() + bound > h.batch_limit) {
    before = send_batch_locked(acc, true, false);
  }
  const bool lingering = options_.linger.count() > 0;
  open_batch(acc, lingering);
  const std::int64_t ts = record.timestamp != kNoTimestamp ? record.timestamp : acc.batch_timestamp;
  const bool appended = acc.builder->try_append(record, ts);
  assert(appended);  // the batch had room for `bound` bytes
  (void)appended;
  acc.counters.set_open_records(acc.builder->record_count());
  const std::uint32_t index = acc.builder->record_count() - 1;
  RecordMetadata md{acc.partition, -1, ts};
  if (callback != nullptr) acc.callbacks.push_back({index, ts, std::move(*callback)});
  if (!lingering || acc.builder->size_bytes() >= h.batch_limit) {
    BatchOutcome now = send_batch_locked(acc, true, false);
    lock.unlock();
    settle(before, acc);
    settle(now, acc);
    if (callback != nullptr) return {};
    md.offset = now.error ? -1 : now.base_offset + index;
    md.durable = !now.error && now.durable;
    md.sequence = now.error ? -1 : record_sequence(now.base_sequence, index);
    return SendFuture(md, std::move(now.error));
  }
  detail::SendCompletion* completion = nullptr;
  if (callback == nullptr) {
    if (acc.completion == nullptr) acc.completion = pool_->acquire(&acc, acc.partition);
    ++acc.open_futures;
    completion = acc.completion;
  }
  lock.unlock();
  settle(before, acc);
  if (completion == nullptr) return {};
  return SendFuture(completion, index, md);
}

SendStatus ProducerImpl::try_send(std::string_view topic, const Record& record, RecordMetadata* out) noexcept {
  try {
    if (closed_.load(std::memory_order_relaxed)) return SendStatus::closed;  // relaxed: a flag
    TopicHandle* h = last_handle_.load(std::memory_order_acquire);  // pairs with handle()'s store
    if (h == nullptr || h->state->name() != topic || h->state->deleted()) {
      h = find_handle(topic);
      if (h == nullptr) return SendStatus::not_found;
      last_handle_.store(h, std::memory_order_release);
    }
    const std::size_t bound = codec::BatchBuilder::record_size_bound(record);
    if (bound > h->state->options().max_record_bytes) return SendStatus::too_large;
    const TopicOptions& o = h->state->options();
    if (!record.key && o.cleanup == CleanupPolicy::compact && o.storage == StorageKind::durable) {
      return SendStatus::invalid;  // send() throws Error(invalid_argument) here
    }
    if (record.partition != kAnyPartition &&
        (record.partition < 0 || record.partition >= h->state->partition_count())) {
      return SendStatus::not_found;
    }
    PartitionAccumulator& acc = *h->accumulators[static_cast<std::size_t>(choose_partition(*h, record))];
    RecordMetadata md;
    BatchOutcome before;
    BatchOutcome now;
    std::unique_lock lock(acc.lock);
    SendStatus status = try_append_locked(acc, record, bound, md, before, now);
    lock.unlock();
    settle(before, acc);
    const bool sync_pending = now.sync_pending_end >= 0;
    settle(now, acc);
    // The record's own batch (its offset is known) waited for its sync:
    // `ok` means durable, as when the append synced.
    if (sync_pending && status == SendStatus::ok && md.offset >= 0) {
      if (now.error) return SendStatus::failed;  // its callbacks got the error
      md.durable = true;
    }
    if (status == SendStatus::ok && out != nullptr) *out = md;
    return status;
  } catch (...) {
    return SendStatus::closed;  // out of memory while building an error or a handle
  }
}

SendStatus ProducerImpl::try_append_locked(PartitionAccumulator& acc, const Record& record, std::size_t bound,
                                           RecordMetadata& out, BatchOutcome& before, BatchOutcome& now) {
  const std::size_t limit = acc.topic->batch_limit;
  if (!acc.builder) acc.builder.emplace(limit);
  if (!acc.builder->empty() && acc.builder->size_bytes() + bound > limit) {
    before = send_batch_locked(acc, false, true);
    if (before.status == broker::ProduceStatus::full) return SendStatus::full;  // batch stays open
  }
  if (bound + codec::kBatchHeaderSize > limit) return try_send_alone(acc, record, bound, out, now);
  const bool lingering = options_.linger.count() > 0;
  open_batch(acc, lingering);
  const std::int64_t ts = record.timestamp != kNoTimestamp ? record.timestamp : acc.batch_timestamp;
  if (!acc.builder->try_append(record, ts)) return SendStatus::full;
  acc.counters.set_open_records(acc.builder->record_count());
  const std::uint32_t index = acc.builder->record_count() - 1;
  RecordMetadata md{acc.partition, -1, ts};
  if (!lingering) {
    now = send_batch_locked(acc, false, true);
    if (now.status == broker::ProduceStatus::full) {
      acc.builder->reset();  // the batch held only this record: it was not taken
      acc.counters.set_open_records(0);
      acc.has_records.store(false, std::memory_order_relaxed);  // relaxed: a timer hint
      return SendStatus::full;
    }
    if (now.status != broker::ProduceStatus::ok) return SendStatus::failed;  // callbacks got the error
    md.offset = now.base_offset + index;
    md.durable = now.durable;
    md.sequence = record_sequence(now.base_sequence, index);
  } else if (acc.builder->size_bytes() >= limit) {
    now = send_batch_locked(acc, false, true);  // if full it stays open and is sent later
  }
  out = md;
  return SendStatus::ok;
}

SendStatus ProducerImpl::try_send_alone(PartitionAccumulator& acc, const Record& record, std::size_t bound,
                                        RecordMetadata& out, BatchOutcome& now) {
  const std::int64_t ts = record.timestamp != kNoTimestamp ? record.timestamp : base::wall_clock_ms();
  codec::BatchBuilder alone(bound + codec::kBatchHeaderSize + 8);
  if (!alone.try_append(record, ts)) return SendStatus::too_large;
  const broker::ProduceResult r =
      produce(acc, alone.finish(producer_fields(acc)), false, detail::WaitClock::now());
  if (r.status != broker::ProduceStatus::ok) {
    (void)note_append(acc, r, 1);
    acc.counters.add_batch(r.status, 1, alone.size_bytes());
    return r.status == broker::ProduceStatus::failed ? SendStatus::failed : SendStatus::full;
  }
  now = outcome_of(acc, r, 1, alone.size_bytes());  // settled by try_send if its sync is pending
  acc.topic->keyless.batch_sent(acc.partition);
  out = RecordMetadata{acc.partition, r.base_offset, ts, r.durable, now.base_sequence};
  return SendStatus::ok;
}

void ProducerImpl::flush_accumulator(PartitionAccumulator& acc) {
  std::unique_lock lock(acc.lock);
  if (!acc.builder || acc.builder->empty()) return;
  BatchOutcome outcome = send_batch_locked(acc, true, false);
  lock.unlock();
  settle(outcome, acc);
}

void ProducerImpl::flush_for(PartitionAccumulator& acc, const detail::SendCompletion* completion) {
  std::unique_lock lock(acc.lock);
  if (acc.completion != completion || !acc.builder || acc.builder->empty()) return;
  BatchOutcome outcome = send_batch_locked(acc, true, false);
  lock.unlock();
  settle(outcome, acc);
}

void ProducerImpl::flush() {
  std::vector<TopicHandle*> handles;
  {
    std::lock_guard lock(handles_mutex_);
    for (const auto& h : handles_) handles.push_back(h.get());
  }
  for (TopicHandle* h : handles) {
    for (const auto& acc : h->accumulators) {
      flush_accumulator(*acc);
      // A batch another thread appended may still wait for its sync (its
      // sender settles it): share that sync too, so that every record sent
      // before flush() is durable (or failed) when it returns, as when the
      // lock was held across the sync. A failure reaches the batch's own
      // futures and callbacks through its sender.
      if (h->defers_sync) {
        (void)broker_->await_durable(*h->state, acc->partition, broker_->high_watermark(*h->state, acc->partition));
      }
    }
  }
}

void ProducerImpl::linger_loop() {
  const auto period = std::max<Clock::duration>(options_.linger / 2, std::chrono::microseconds(100));
  std::unique_lock timer_lock(timer_mutex_);
  while (!timer_stop_) {
    timer_wake_.wait_for(timer_lock, period);
    if (timer_stop_) break;
    timer_lock.unlock();
    std::vector<TopicHandle*> handles;
    {
      std::lock_guard lock(handles_mutex_);
      for (const auto& h : handles_) handles.push_back(h.get());
    }
    const auto now = Clock::now();
    for (TopicHandle* h : handles) {
      for (const auto& acc_ptr : h->accumulators) {
        PartitionAccumulator& acc = *acc_ptr;
        // relaxed: a hint; the state is checked again under the lock.
        if (!acc.has_records.load(std::memory_order_relaxed) || !acc.lock.try_lock()) continue;
        std::unique_lock lock(acc.lock, std::adopt_lock);
        if (!acc.builder || acc.builder->empty() || now - acc.opened_at < options_.linger) continue;
        BatchOutcome outcome = send_batch_locked(acc, true, false);
        lock.unlock();
        settle(outcome, acc);
      }
    }
    timer_lock.lock();
  }
}

}  // namespace rill::client
