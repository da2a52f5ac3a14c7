// Broker: the one boundary between clients (Producer, Consumer, the Node
// handle) and what holds the topics.
//
// Design
// - The calls have Kafka's request shapes: metadata, create / delete /
//   describe topics, produce one batch to one partition, fetch from an
//   offset, list offsets, init producer id, and the group calls (join,
//   sync, heartbeat, leave, commit, offset fetch) with member ids and
//   generations. Everything that crosses it is data: names, numbers,
//   finished batches, leases of batches. No client holds a partition, a
//   reader object or a lock of the broker's.
// - LocalBroker (local_broker.hpp) implements it over this process's
//   partitions. A Kafka-protocol server calls it; a remote client
//   implements it over a socket; a cluster routes it (docs/architecture.md).
// - A client resolves a topic name once (resolve) and then addresses its
//   partitions by number through the returned TopicRef, so the hot path
//   (one produce per batch, one fetch per poll) does no name lookup.
// - A produce that asks for it (ProduceRequest::defer_sync) does not sync:
//   an append whose sync is still due (FsyncPolicy::every_batch) returns
//   `sync_pending_end`, the end offset to wait for, and await_durable waits
//   for (or performs) that sync, shared with every other append it covers
//   (group commit). So a client need not hold its own lock across a sync.
// - Thread safety: every call may be made from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/client_registry.hpp"
#include "broker/fetch_lease.hpp"
#include "rill/detail/wait_strategy.hpp"
#include "rill/error.hpp"
#include "rill/group.hpp"
#include "rill/metrics.hpp"
#include "rill/options.hpp"
#include "rill/topic.hpp"

namespace rill::broker {

// A topic as a broker hands it to a client: its name, options and
// partition count (fixed at creation), and whether it has been deleted
// since. Holding it keeps the topic readable after a delete.
class TopicRef {
 public:
  virtual ~TopicRef() = default;
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const TopicOptions& options() const noexcept { return options_; }
  [[nodiscard]] std::int32_t partition_count() const noexcept { return options_.partitions; }
  // Relaxed: a send racing with a delete may still land, as in Kafka.
  [[nodiscard]] virtual bool deleted() const noexcept = 0;

 protected:
  TopicRef(std::string name, const TopicOptions& options) : name_(std::move(name)), options_(options) {}

 private:
  std::string name_;
  TopicOptions options_;
};


// Kafka's acks: none (fire and forget), leader (appended), all (appended
// and as durable as the topic's fsync policy makes it; with one replica,
// leader and all are the same).
enum class Acks : std::int8_t { none = 0, leader = 1, all = -1 };

enum class ProduceStatus {
  ok,           // appended at base_offset
  full,         // no room now (FullPolicy::fail, or wait_for_room was false)
  timed_out,    // FullPolicy::block waited until the deadline
  too_large,    // the batch can never fit the partition
  failed,       // the storage failed; `error` says how
};

struct ProduceRequest {
  Acks acks = Acks::all;
  // Under FullPolicy::block, wait for room until `deadline`.
  bool wait_for_room = true;
  detail::Deadline deadline = detail::Deadline::max();
  // Return before the sync FsyncPolicy::every_batch owes the batch, with
  // ProduceResult::sync_pending_end set; the caller then calls
  // await_durable. Without it, produce syncs before it returns.
  bool defer_sync = false;
};

struct ProduceResult {
  ProduceStatus status = ProduceStatus::ok;
  std::int64_t base_offset = -1;
  // Synced before produce returned (false while a deferred sync is pending).
  bool durable = false;
  // An idempotent producer's resend of a batch the partition holds: not
  // written again; base_offset is the original's.
  bool duplicate = false;
  // With ProduceRequest::defer_sync: appended, but its acknowledgement
  // waits for a sync through this end offset (await_durable); -1 when
  // nothing is pending.
  std::int64_t sync_pending_end = -1;
  std::shared_ptr<const Error> error{};
};

// Where a list-offsets request points.
struct OffsetSpec {
  enum class Kind { earliest, latest, timestamp };
  Kind kind = Kind::latest;
  std::int64_t timestamp_ms = 0;  // for Kind::timestamp
};

// A reader's named position on one partition (a gate): one per consumer
// group, or per ungrouped consumer. Under FullPolicy::block and ::fail a
// memory partition keeps every record at or after its smallest gate.
// Gates are plain offsets, so a table of them can live anywhere (a shared
// mapping, a remote broker). Dropping the handle drops the holding.
class ReadGate {
 public:
  virtual ~ReadGate() = default;
  [[nodiscard]] virtual std::int64_t offset() const noexcept = 0;
  // Forward only; lock-free; wakes a producer waiting for room.
  virtual void advance(std::int64_t offset) noexcept = 0;
  // To `offset` clamped to the retained window; returns where it landed.
  virtual std::int64_t move_back(std::int64_t offset) noexcept = 0;
};

struct FetchRequest {
  std::int64_t offset = 0;
  std::size_t max_bytes = std::size_t{1} << 20;
  // Check each batch's checksum (ConsumerOptions::check_crcs).
  bool check_crcs = true;
  // The caller's gate on the partition, at or below `offset`: the batches
  // are then handed out in place (zero copy).
  const ReadGate* gate = nullptr;
};

// A member's view after join / sync / heartbeat.
struct JoinGroupRequest {
  std::string group;
  std::vector<std::string> topics;
  AssignmentStrategy strategy = AssignmentStrategy::range;
  std::chrono::milliseconds session_timeout{10'000};
};
struct JoinGroupResponse {
  std::string member_id;
  std::int64_t generation = 0;
};
struct SyncGroupResponse {
  // False: the member was removed (silent past its session timeout); it
  // must drop its partitions unread and join again.
  bool member_alive = true;
  std::int64_t generation = 0;
  std::vector<TopicPartition> assignment;  // the member's target, sorted
};
// A partition a member now owns: where its group left it, where the
// member starts, and the group's gate on it, held at that start.
struct OwnedPartition {
  TopicPartition partition;
  std::shared_ptr<const TopicRef> topic;  // resolved: the topic exists
  std::optional<std::int64_t> committed;
  std::int64_t start = 0;
  std::unique_ptr<ReadGate> gate;
};

class Broker {
 public:
  virtual ~Broker() = default;

  // Metadata and topic administration (Node's calls).
  [[nodiscard]] virtual std::shared_ptr<const TopicRef> resolve(std::string_view topic) const = 0;  // null if absent
  [[nodiscard]] virtual std::vector<std::string> list_topics() const = 0;
  virtual void create_topic(std::string_view name, const TopicOptions& options) = 0;
  virtual void delete_topic(std::string_view name) = 0;
  [[nodiscard]] virtual TopicDescription describe_topic(std::string_view name) const = 0;
  // The data directory of a broker kept on one; empty otherwise.
  [[nodiscard]] virtual std::filesystem::path data_directory() const = 0;
  [[nodiscard]] virtual PartitionInfo partition_info(const TopicRef& topic, std::int32_t partition) const = 0;

  // Produce one finished batch (its base offset is set in `batch`).
  [[nodiscard]] virtual ProduceResult produce(const TopicRef& topic, std::int32_t partition,
                                              std::span<std::byte> batch,
                                              const ProduceRequest& request) noexcept = 0;
  // Waits until the partition is durable through `end_offset` (exclusive),
  // performing the sync if none in progress covers it. Null on success;
  // else the error of the sync that covered it (every waiter it covered
  // gets it), or the partition's refusal after an earlier failed sync.
  [[nodiscard]] virtual std::shared_ptr<const Error> await_durable(const TopicRef& topic, std::int32_t partition,
                                                                   std::int64_t end_offset) noexcept = 0;
  // The largest batch the partition accepts.
  [[nodiscard]] virtual std::size_t max_batch_bytes(const TopicRef& topic, std::int32_t partition) const = 0;

  // Idempotence: claims `idempotence_id` for one producer (at most one live
  // claim per id; Error(already_exists) otherwise) and returns its producer
  // id. release_producer_id lets another producer take it.
  [[nodiscard]] virtual std::int64_t init_producer_id(const std::string& idempotence_id) = 0;
  virtual void release_producer_id(const std::string& idempotence_id) noexcept = 0;
  // The sequence the next batch of `producer_id` must start with, or -1
  // when the partition does not track sequences.
  [[nodiscard]] virtual std::int32_t next_sequence(const TopicRef& topic, std::int32_t partition,
                                                   std::int64_t producer_id) noexcept = 0;

  // Fetch: the whole batches holding offsets >= request.offset, up to
  // about max_bytes (at least one batch when any is there), into `into`
  // (its previous batches released). Records deleted or overwritten below
  // the retained start are reported as lost; damage is reported, never
  // skipped. Never blocks.
  virtual void fetch(const TopicRef& topic, std::int32_t partition, const FetchRequest& request,
                     FetchLease& into) noexcept = 0;
  // The offset consumers may read up to (the log end until replication).
  [[nodiscard]] virtual std::int64_t high_watermark(const TopicRef& topic, std::int32_t partition) const noexcept = 0;
  // Waits until `ready()` or the deadline (Kafka's fetch max_wait): woken
  // by every append and every group change, never by a timer loop.
  [[nodiscard]] virtual bool wait_for_data(const std::function<bool()>& ready, detail::Deadline deadline) = 0;
  // Opens gate `name` on the partition at `offset` (clamped to the
  // retained window), sharing it with other holders of the name.
  [[nodiscard]] virtual std::unique_ptr<ReadGate> open_gate(const TopicRef& topic, std::int32_t partition,
                                                            std::string_view name, std::int64_t offset) = 0;
  // A client met `records` lost records of the partition (a seek below
  // its retained window): counted in the partition's metrics.
  virtual void note_loss(const TopicRef& topic, std::int32_t partition, std::int64_t records) noexcept = 0;

  // List offsets: earliest, latest, or the first offset whose record
  // timestamp is >= the given one (latest when none is).
  [[nodiscard]] virtual std::int64_t list_offset(const TopicRef& topic, std::int32_t partition,
                                                 const OffsetSpec& spec) = 0;

  // Groups.
  [[nodiscard]] virtual JoinGroupResponse join_group(const JoinGroupRequest& request) = 0;
  // Cooperative hand-over: gives back `released` (the group's gate on each
  // stays at its committed offset until the next owner takes it, so no
  // uncommitted record is dropped meanwhile) and takes those of `wanted`
  // that are in the member's target and free, each at its committed offset
  // (else at `reset`), with the group's gate held there.
  [[nodiscard]] virtual std::vector<OwnedPartition> hand_over(const std::string& group, const std::string& member_id,
                                                              const std::vector<TopicPartition>& released,
                                                              const std::vector<TopicPartition>& wanted,
                                                              OffsetReset reset) = 0;
  // Liveness plus the member's target assignment and the group's generation.
  [[nodiscard]] virtual SyncGroupResponse sync_group(const std::string& group, const std::string& member_id) = 0;
  // The generation now: it moves whenever a target or an owner changes,
  // so a member polls sync_group only when it moved (cheap, lock-free).
  [[nodiscard]] virtual std::int64_t group_generation() const noexcept = 0;
  virtual void leave_group(const std::string& group, const std::string& member_id) = 0;
  // Commits offsets for the group. With a member id (a subscribed
  // consumer), every partition must be owned by that live member: else
  // Error(commit_failed) naming the partition and why, and nothing is
  // stored. Error(io) when storing fails (then nothing changed).
  virtual void commit_offsets(const std::string& group, const std::string& member_id,
                              const std::map<TopicPartition, std::int64_t>& offsets) = 0;
  [[nodiscard]] virtual std::optional<std::int64_t> fetch_offset(const std::string& group,
                                                                 const TopicPartition& tp) const = 0;
  [[nodiscard]] virtual std::vector<std::string> list_groups() = 0;
  [[nodiscard]] virtual GroupDescription describe_group(std::string_view group) = 0;
  virtual std::map<TopicPartition, std::int64_t> reset_group_offsets(std::string_view group,
                                                                      std::string_view topic, OffsetReset to) = 0;

  // Observability: the topics' counters and every registered client's.
  [[nodiscard]] virtual NodeMetrics metrics() const = 0;
  // Where clients register their metrics for metrics() (client_registry.hpp).
  [[nodiscard]] virtual ClientRegistry& client_registry() noexcept = 0;
};

}  // namespace rill::broker
