// rill::Producer: appends records to a node's topics.
//
// A producer picks each record's partition (the record's own `partition`,
// else XXH3 of its key mod the partition count, else sticky or round-robin as
// ProducerOptions::keyless says), encodes it straight into that partition's
// open batch, and appends whole batches to the partition's log. With
// linger == 0 every send appends at once; with linger > 0 a batch collects
// records until it holds batch_bytes, its linger expires (a background timer
// thread sends it), or flush() / SendFuture::get() sends it.
//
// Thread safety: every method may be called from several threads at once.
// Records sent by one thread to one partition keep their order there.
//
// Ownership: the producer keeps the node's shared state alive. Destroying it
// (or close()) flushes the open batches first. A Record's bytes are copied
// during send(); the caller may reuse them as soon as send() returns.
//
// Idempotence (ProducerOptions::idempotence_id): every batch carries the
// producer id (XXH3-64 of the id with the sign bit cleared; epoch 0) and the
// sequence number of its first record; each partition numbers this
// producer's records 0, 1, 2 ... (int32, wrapping after INT32_MAX to 0, as
// Kafka's do). A durable partition keeps, per producer id, the last sequence
// and its 5 newest batches, and this table survives restarts (it is rebuilt
// from the log and snapshot files at open): a batch it already holds is not
// written again and its records' futures and callbacks get the ORIGINAL
// offsets, never an error; a batch that skips ahead or repeats an older one
// fails with Error(out_of_order_sequence) and writes nothing. A new Producer
// with the same id continues each partition's numbering where the log
// leaves it, and next_sequence() says how many of its records a partition
// holds, so a restarted application resends exactly the rest. Memory
// topics carry the sequences but do not check them. Only one live Producer
// per idempotence id per node (the directory lock keeps other processes out).
//
// Allocation: none per record once each partition's batch buffer exists
// (allocated on the first send to it). Batch completion state comes from a
// pool. A send with a callback stores the std::function (which may allocate
// if its captures are large).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "rill/error.hpp"
#include "rill/metrics.hpp"
#include "rill/node.hpp"
#include "rill/options.hpp"
#include "rill/record.hpp"

namespace rill {

// Where a sent record landed.
struct RecordMetadata {
  std::int32_t partition = -1;
  std::int64_t offset = -1;     // -1 while not yet known (try_send with linger > 0)
  std::int64_t timestamp = kNoTimestamp;  // the record's, or the producer clock's
  // True when the record was on disk (fsynced) before the send completed:
  // a durable topic under FsyncPolicy::every_batch, or an interval sync that
  // happened to fall on this append. Always false for memory topics and
  // while the offset is not yet known.
  bool durable = false;
  // An idempotent producer's sequence number for the record in its
  // partition (0, 1, 2 ... wrapping after INT32_MAX to 0); -1 for a plain
  // producer, a failed send, and while the offset is not yet known.
  std::int64_t sequence = -1;
};

// Outcome of try_send. Only `ok` means the record was accepted.
enum class SendStatus {
  ok,         // accepted (appended, or in an open batch when linger > 0)
  full,       // the partition has no room and the send would have to wait or fail
  too_large,  // larger than the topic's max_record_bytes
  closed,     // the producer is closed
  not_found,  // no such topic, or the record's explicit partition does not exist
  failed,     // a durable partition's storage failed (an I/O error): the record was not stored
  invalid,    // the topic cannot take this record: a keyless record on a compacted topic
};

constexpr const char* to_string(SendStatus status) noexcept {
  switch (status) {
    case SendStatus::ok: return "ok";
    case SendStatus::full: return "full";
    case SendStatus::too_large: return "too_large";
    case SendStatus::closed: return "closed";
    case SendStatus::not_found: return "not_found";
    case SendStatus::failed: return "failed";
    case SendStatus::invalid: return "invalid";
  }
  return "unknown";
}

// Called once per record when its batch is appended or fails: `error` is null
// on success. Under FsyncPolicy::every_batch "appended" means synced: it is
// called once the fdatasync covering the batch is done (and gets that
// sync's error if it failed). It runs on the thread that appends the batch
// (a sender, the linger timer, or a flush caller). An exception it throws is caught and
// dropped; it must not call this producer's flush().
using SendCallback = std::function<void(const RecordMetadata& metadata, const Error* error)>;

namespace detail {
class SendCompletion;
void release_completion(SendCompletion* completion) noexcept;
}  // namespace detail
namespace client {
class ProducerImpl;  // internal
}

// The result of Producer::send: a small move-only handle (no allocation).
// get() may be called at most once; a future may outlive its producer.
class SendFuture {
 public:
  SendFuture() = default;
  SendFuture(SendFuture&& other) noexcept;
  SendFuture& operator=(SendFuture&& other) noexcept;
  SendFuture(const SendFuture&) = delete;
  SendFuture& operator=(const SendFuture&) = delete;
  ~SendFuture() {
    if (completion_ != nullptr) detail::release_completion(completion_);
  }

  // False for a default-constructed or moved-from future.
  [[nodiscard]] bool valid() const noexcept { return completion_ != nullptr || ready_; }
  // True once get() would not wait.
  [[nodiscard]] bool ready() const noexcept;
  // Waits until the record's batch is appended (sending the batch now if it
  // is still open; under FsyncPolicy::every_batch, until the fdatasync
  // covering it is done) and returns where the record is. Throws the send's
  // rill::Error: timeout (FullPolicy::block waited block_timeout), full
  // (FullPolicy::fail found the partition full), not_found (topic deleted),
  // closed (producer closed before the batch was sent), io (the durable
  // partition failed to write or sync the batch).
  RecordMetadata get();

 private:
  friend class client::ProducerImpl;  // the only maker of a valid future
  SendFuture(detail::SendCompletion* completion, std::uint32_t index, RecordMetadata metadata) noexcept
      : completion_(completion), metadata_(metadata), index_(index) {}
  SendFuture(RecordMetadata metadata, std::shared_ptr<const Error> error) noexcept
      : error_(std::move(error)), metadata_(metadata), ready_(true) {}

  detail::SendCompletion* completion_ = nullptr;
  std::shared_ptr<const Error> error_;
  RecordMetadata metadata_;
  std::uint32_t index_ = 0;  // the record's place in its batch
  bool ready_ = false;       // metadata_ (or error_) is final
};

class Producer {
 public:
  // Throws Error(invalid_argument) for a bad option. Starts a timer thread
  // when options.linger > 0.
  explicit Producer(const Node& node, const ProducerOptions& options = {});
  ~Producer();  // flushes, then stops the timer
  Producer(Producer&&) noexcept;
  Producer& operator=(Producer&&) noexcept;
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Sends `record` to `topic`. Throws at once, before anything is sent:
  // Error(not_found) for an unknown topic, Error(invalid_argument) for an
  // explicit partition out of range, Error(record_too_large) for a record
  // over the topic's max_record_bytes, Error(closed) after close(). Errors
  // of the append itself (full, timeout, io) come through the future. May
  // block when a batch is appended under FullPolicy::block (up to
  // block_timeout), and under FsyncPolicy::every_batch for the fdatasync of
  // the batch it appends (without holding the partition's lock, so other
  // threads' sends append meanwhile and share the next sync).
  [[nodiscard]] SendFuture send(std::string_view topic, const Record& record);

  // As above, but reports through `callback` (see SendCallback) instead of
  // a future. The setup errors listed above still throw from this call.
  void send(std::string_view topic, const Record& record, SendCallback callback);

  // Never throws and never waits for room. `ok` means accepted: with
  // linger == 0 it is appended and *out (if given) holds its partition,
  // offset and timestamp; with linger > 0 it waits in its batch and
  // out->offset is -1. `full` means the record was not taken because its
  // partition has no room (FullPolicy::block and ::fail alike; an overwrite
  // topic is never full). `failed`: a durable partition's storage or its
  // sync failed. A record larger than batch_bytes is appended alone at once.
  // What it can wait for, and nothing else:
  // - the partition's lock in this producer, while another thread of it
  //   appends a batch to that partition (under FullPolicy::block that
  //   append may wait up to block_timeout for room; the lock is never held
  //   across an fdatasync);
  // - on a durable topic, the partition's writer mutex, while another
  //   append writes its batch or rolls a segment;
  // - under FsyncPolicy::every_batch, when it appends a batch, the
  //   fdatasync covering it (one shared with the batches other threads
  //   appended meanwhile, waited for after the lock is released), so `ok`
  //   then means durable; if that sync fails it returns `failed`.
  // A thread that must never wait for the disk sends to a memory topic, or
  // to a durable one under FsyncPolicy::none or ::interval.
  [[nodiscard]] SendStatus try_send(std::string_view topic, const Record& record,
                                    RecordMetadata* out = nullptr) noexcept;

  // Appends every open batch, waiting (FullPolicy::block) as a send would;
  // under FsyncPolicy::every_batch it also waits for the syncs of batches
  // other threads appended before it (it shares them), so every record
  // sent before flush() is then durable unless its sync failed. Failures
  // are reported through the records' futures and callbacks.
  void flush();

  // Flushes, then refuses further sends (Error(closed) / SendStatus::closed).
  // Idempotent. Releases the producer's idempotence id for a new Producer.
  void close();

  // Idempotent producers only. The first sequence of this producer not yet
  // in `partition` of `topic`: for a durable topic, read from the
  // partition's producer state (what its log holds, counting what survived
  // a crash and nothing recovery cut; records still in an open batch are
  // not counted); for a memory topic, the number of records this Producer
  // object appended there. Starting at 0, that is the number of this
  // producer's records the partition holds (modulo 2^31). Throws
  // Error(invalid_argument) for a plain producer or a partition out of
  // range, Error(not_found) for an unknown topic. May wait for an append in
  // progress on that partition.
  [[nodiscard]] std::int64_t next_sequence(std::string_view topic, std::int32_t partition);

  // This producer's counters (see metrics.hpp), also listed in
  // Node::metrics() while the producer lives. Any thread; lock-free reads,
  // plus the producer's topic-list mutex. Allocates the client_id string.
  [[nodiscard]] ProducerMetrics metrics() const;

 private:
  std::unique_ptr<client::ProducerImpl> impl_;
};

}  // namespace rill
