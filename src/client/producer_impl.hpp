// ProducerImpl: the state behind rill::Producer.
//
// Per topic a TopicHandle holds one PartitionAccumulator per partition: the
// open batch (a codec::BatchBuilder that records are encoded into directly),
// its pooled completion, and its callbacks, behind a base::SpinLock. A send hashes
// the key once, locks one accumulator, encodes the record, and appends the
// batch to the partition log when it is full (or at once when linger is 0):
// one ring publish per batch. A timer thread sends batches whose linger has
// expired.
//
// Group commit (FsyncPolicy::every_batch on a durable topic): a batch is
// appended under the accumulator's lock with ProduceRequest::defer_sync,
// so the append does not sync; the sender releases the lock and only then
// awaits the sync (Broker::await_durable, shared with every other batch
// appended meanwhile), and completes the batch's future and callbacks as
// durable after it (settle). Offsets and sequences are still taken under
// the lock, in order. Other topics never defer: their batches complete
// under the lock as before, and settle only runs the callbacks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/client_link.hpp"
#include "client/idempotence.hpp"
#include "client/producer_counters.hpp"
#include "client/send_completion.hpp"
#include "base/spin_lock.hpp"
#include "codec/batch_builder.hpp"
#include "rill/producer.hpp"
#include "broker/broker.hpp"
#include "client/partitioner.hpp"

namespace rill::client {

using Clock = std::chrono::steady_clock;
struct PendingCallback {
  std::uint32_t index = 0;  // the record's place in its batch
  std::int64_t timestamp = kNoTimestamp;
  SendCallback callback;
};
using Callbacks = std::vector<PendingCallback>;

struct TopicHandle;
class ProducerImpl;

struct PartitionAccumulator {
  base::SpinLock lock;
  // Everything below is guarded by `lock`.
  std::optional<codec::BatchBuilder> builder;  // created on first use
  detail::SendCompletion* completion = nullptr;  // the open batch's, if it has futures
  std::int64_t open_futures = 0;                 // futures handed out for the open batch
  Clock::time_point opened_at{};                 // when the open batch got its first record
  std::int64_t batch_timestamp = kNoTimestamp;   // producer clock for the open batch's records
  Callbacks callbacks;                           // of the open batch's records
  TopicHandle* topic = nullptr;
  std::int32_t partition = 0;
  // Idempotent producers: the sequence the next batch starts with
  // (idempotence.hpp).
  std::int32_t next_sequence = 0;
  // Set (relaxed) when the open batch gets its first record, cleared when it
  // is sent; lets the linger timer skip idle partitions without locking.
  std::atomic<bool> has_records{false};
  ProducerCounters counters;  // written under `lock` (producer_counters.hpp)
};

struct TopicHandle {
  TopicHandle(std::shared_ptr<const broker::TopicRef> t, const broker::Broker& broker,
              const ProducerOptions& options, std::uint32_t seed);

  std::shared_ptr<const broker::TopicRef> state;  // the topic as the broker resolved it
  std::vector<std::unique_ptr<PartitionAccumulator>> accumulators;
  client::KeylessPartitioner keyless;
  std::size_t batch_limit;  // bytes at which a batch is sent
  // A durable topic under FsyncPolicy::every_batch: batches are appended
  // with ProduceRequest::defer_sync and settled after the lock is released.
  bool defers_sync;
  ProducerImpl* producer = nullptr;
};

// What appending one batch produced, for the futures and callbacks.
struct BatchOutcome {
  broker::ProduceStatus status = broker::ProduceStatus::ok;
  std::int64_t base_offset = -1;
  bool durable = false;  // synced (before the append returned, or once settled)
  std::int32_t base_sequence = -1;  // the batch's first sequence (idempotent, appended)
  std::shared_ptr<const Error> error;
  Callbacks callbacks;  // to run once the accumulator is unlocked
  // A deferred sync (group commit): the end offset to await, -1 if none.
  // Until it is settled the batch is not counted, and its completion (if
  // it has futures) is detached from the accumulator but not done.
  std::int64_t sync_pending_end = -1;
  detail::SendCompletion* completion = nullptr;
  std::int64_t open_futures = 0;
  std::uint32_t records = 0;
  std::size_t bytes = 0;
};

class ProducerImpl {
 public:
  ProducerImpl(std::shared_ptr<broker::Broker> broker, const ProducerOptions& options);
  ~ProducerImpl();

  SendFuture send(std::string_view topic, const Record& record, SendCallback* callback);
  SendStatus try_send(std::string_view topic, const Record& record, RecordMetadata* out) noexcept;
  void flush();
  void close();
  // Sends the open batch of `acc` if `completion` is still its batch.
  void flush_for(PartitionAccumulator& acc, const detail::SendCompletion* completion);
  // The counters of every accumulator, summed (producer_metrics.cpp). Any thread.
  [[nodiscard]] ProducerMetrics metrics();
  // Producer::next_sequence (idempotence.cpp).
  [[nodiscard]] std::int64_t next_sequence(std::string_view topic, std::int32_t partition);

 private:
  // Idempotence (idempotence.cpp). The producer fields for the open batch
  // of `acc`; moves its sequence on after an append and returns the
  // batch's base sequence (-1 when not written or not idempotent); sets a
  // new handle's sequences from its partitions.
  [[nodiscard]] codec::ProducerFields producer_fields(const PartitionAccumulator& acc) const noexcept;
  std::int32_t note_append(PartitionAccumulator& acc, const broker::ProduceResult& r,
                           std::int64_t records) noexcept;
  void start_sequences(TopicHandle& h) noexcept;

  TopicHandle* handle(std::string_view topic);             // throws not_found / closed
  TopicHandle* find_handle(std::string_view topic) noexcept;  // null if unknown
  std::int32_t choose_partition(TopicHandle& h, const Record& record) noexcept;
  // Appends the open batch (must be non-empty) and completes it. With
  // keep_on_full, a full partition leaves the batch open (try_send).
  BatchOutcome send_batch_locked(PartitionAccumulator& acc, bool wait, bool keep_on_full);
  // The outcome of a batch of `records` records and `bytes` bytes the
  // broker answered with `r`: counted now, or when settled if its sync is
  // pending. Under the lock.
  BatchOutcome outcome_of(PartitionAccumulator& acc, const broker::ProduceResult& r, std::uint32_t records,
                          std::size_t bytes);
  void complete(BatchOutcome& outcome, PartitionAccumulator& acc);
  // After the lock is released: awaits a pending sync (await_sync), then
  // runs the callbacks. Every outcome a sender made goes through it.
  void settle(BatchOutcome& outcome, PartitionAccumulator& acc) noexcept {
    if (outcome.sync_pending_end >= 0) await_sync(outcome, acc);
    if (!outcome.callbacks.empty()) run_callbacks(outcome, acc.partition);
  }
  // The group commit's wait; then counts the batch and completes its future.
  void await_sync(BatchOutcome& outcome, PartitionAccumulator& acc) noexcept;
  // One batch of `acc` to the broker (producer.cpp).
  [[nodiscard]] broker::ProduceResult produce(PartitionAccumulator& acc, std::span<std::byte> batch, bool wait,
                                              detail::Deadline deadline) noexcept;
  SendFuture send_alone(PartitionAccumulator& acc, const Record& record, std::int64_t timestamp,
                        SendCallback* callback, std::unique_lock<base::SpinLock>& lock);
  // try_send's work under the accumulator's lock; never waits.
  SendStatus try_append_locked(PartitionAccumulator& acc, const Record& record, std::size_t bound,
                               RecordMetadata& out, BatchOutcome& before, BatchOutcome& now);
  SendStatus try_send_alone(PartitionAccumulator& acc, const Record& record, std::size_t bound,
                            RecordMetadata& out, BatchOutcome& now);
  void run_callbacks(BatchOutcome& outcome, std::int32_t partition) noexcept;
  void flush_accumulator(PartitionAccumulator& acc);
  void linger_loop();
  std::shared_ptr<const Error> make_error(const TopicHandle& h, std::int32_t partition,
                                          broker::ProduceStatus status) const;

  std::shared_ptr<broker::Broker> broker_;
  const ProducerOptions options_;
  IdempotenceClaim idempotence_;  // holds options_.idempotence_id until close()
  CompletionPool* pool_;
  std::atomic<bool> closed_{false};

  std::mutex handles_mutex_;                          // guards handles_ (appends only)
  std::vector<std::unique_ptr<TopicHandle>> handles_;  // never shrinks: raw pointers stay valid
  std::atomic<TopicHandle*> last_handle_{nullptr};     // the most recently used handle

  std::mutex timer_mutex_;
  std::condition_variable timer_wake_;
  bool timer_stop_ = false;
  std::thread timer_;

  // Last: registered with the node once the members above exist, removed
  // before they go (producer_metrics.cpp).
  [[nodiscard]] ProducerMetrics metrics(const std::string& client_id);
  [[nodiscard]] ClientLink link_metrics();
  ClientLink metrics_link_ = link_metrics();
};

}  // namespace rill::client
