// LocalBroker: the Broker (broker.hpp) over this process's partitions: the
// topic catalog, the consumers' wake-up signal, the group coordinator, the
// live clients and, for a node opened on a directory, the directory, its
// lock and its options.
//
// A rill::Node is a handle to one; Producers and Consumers hold it as a
// Broker and call nothing else. Its methods are spread by concern:
// local_broker.cpp (topics, produce, offsets, idempotence),
// local_broker_durable.cpp (opening a directory, durable topics),
// local_broker_groups.cpp (the group calls and their administration),
// local_broker_metrics.cpp (metrics).
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "broker/broker.hpp"
#include "broker/client_registry.hpp"
#include "broker/directory_lock.hpp"
#include "group/group_coordinator.hpp"
#include "rill/detail/wait_strategy.hpp"
#include "rill/options.hpp"
#include "storage/log_cleaner_thread.hpp"
#include "storage/sync_timer.hpp"
#include "storage/topic_state.hpp"

namespace rill::broker {

// The data directory of a broker made by LocalBroker::open.
struct BrokerDirectory {
  std::string path;
  NodeOptions options;
  std::unique_ptr<DirectoryLock> lock;  // held while the broker lives
  // Syncs FsyncPolicy::interval partitions that went idle (sync_timer.hpp);
  // shared with those partitions, which may outlive the broker.
  std::shared_ptr<storage::SyncTimer> sync_timer = std::make_shared<storage::SyncTimer>();
  // Compacts CleanupPolicy::compact partitions and __consumer_offsets
  // (log_cleaner_thread.hpp); its thread starts with the first of them.
  std::shared_ptr<storage::LogCleanerThread> log_cleaner = std::make_shared<storage::LogCleanerThread>();
};

// A local topic as a client holds it: the storage, kept alive by the handle.
class LocalTopic final : public TopicRef {
 public:
  explicit LocalTopic(std::shared_ptr<storage::TopicState> state)
      : TopicRef(state->name, state->options), state_(std::move(state)) {}
  [[nodiscard]] bool deleted() const noexcept override {
    return state_->deleted.load(std::memory_order_relaxed);  // relaxed: see storage::TopicState::deleted
  }
  [[nodiscard]] storage::TopicState& state() const noexcept { return *state_; }
  [[nodiscard]] const std::shared_ptr<storage::TopicState>& shared_state() const noexcept { return state_; }
  // Every TopicRef a LocalBroker hands out is a LocalTopic (resolve()).
  [[nodiscard]] static const LocalTopic& of(const TopicRef& topic) noexcept {
    return static_cast<const LocalTopic&>(topic);
  }
  [[nodiscard]] storage::Partition& partition(std::int32_t p) const noexcept {
    return *state_->partitions[static_cast<std::size_t>(p)];
  }

 private:
  std::shared_ptr<storage::TopicState> state_;
};

class LocalBroker final : public Broker {
 public:
  LocalBroker();
  ~LocalBroker() override;

  // A broker whose topics live in memory.
  [[nodiscard]] static std::shared_ptr<LocalBroker> in_memory();
  // A broker on data directory `dir` (see Node::open for every rule).
  [[nodiscard]] static std::shared_ptr<LocalBroker> open(const std::filesystem::path& dir,
                                                         const NodeOptions& options);

  // Broker.
  [[nodiscard]] std::shared_ptr<const TopicRef> resolve(std::string_view topic) const override;
  [[nodiscard]] std::vector<std::string> list_topics() const override;
  void create_topic(std::string_view name, const TopicOptions& options) override;
  void delete_topic(std::string_view name) override;
  [[nodiscard]] TopicDescription describe_topic(std::string_view name) const override;
  [[nodiscard]] std::filesystem::path data_directory() const override;
  [[nodiscard]] PartitionInfo partition_info(const TopicRef& topic, std::int32_t partition) const override;
  [[nodiscard]] ProduceResult produce(const TopicRef& topic, std::int32_t partition, std::span<std::byte> batch,
                                      const ProduceRequest& request) noexcept override;
  [[nodiscard]] std::shared_ptr<const Error> await_durable(const TopicRef& topic, std::int32_t partition,
                                                           std::int64_t end_offset) noexcept override;
  [[nodiscard]] std::size_t max_batch_bytes(const TopicRef& topic, std::int32_t partition) const override;
  [[nodiscard]] std::int64_t init_producer_id(const std::string& idempotence_id) override;
  void release_producer_id(const std::string& idempotence_id) noexcept override;
  [[nodiscard]] std::int32_t next_sequence(const TopicRef& topic, std::int32_t partition,
                                           std::int64_t producer_id) noexcept override;
  [[nodiscard]] std::int64_t list_offset(const TopicRef& topic, std::int32_t partition,
                                         const OffsetSpec& spec) override;
  void fetch(const TopicRef& topic, std::int32_t partition, const FetchRequest& request,
             FetchLease& into) noexcept override;
  [[nodiscard]] std::int64_t high_watermark(const TopicRef& topic, std::int32_t partition) const noexcept override;
  [[nodiscard]] bool wait_for_data(const std::function<bool()>& ready, detail::Deadline deadline) override;
  [[nodiscard]] std::unique_ptr<ReadGate> open_gate(const TopicRef& topic, std::int32_t partition,
                                                    std::string_view name, std::int64_t offset) override;
  void note_loss(const TopicRef& topic, std::int32_t partition, std::int64_t records) noexcept override;
  [[nodiscard]] std::vector<OwnedPartition> hand_over(const std::string& group, const std::string& member_id,
                                                      const std::vector<TopicPartition>& released,
                                                      const std::vector<TopicPartition>& wanted,
                                                      OffsetReset reset) override;
  [[nodiscard]] JoinGroupResponse join_group(const JoinGroupRequest& request) override;
  [[nodiscard]] SyncGroupResponse sync_group(const std::string& group, const std::string& member_id) override;
  [[nodiscard]] std::int64_t group_generation() const noexcept override;
  void leave_group(const std::string& group, const std::string& member_id) override;
  void commit_offsets(const std::string& group, const std::string& member_id,
                      const std::map<TopicPartition, std::int64_t>& offsets) override;
  [[nodiscard]] std::optional<std::int64_t> fetch_offset(const std::string& group,
                                                         const TopicPartition& tp) const override;
  [[nodiscard]] std::vector<std::string> list_groups() override;
  [[nodiscard]] GroupDescription describe_group(std::string_view group) override;
  std::map<TopicPartition, std::int64_t> reset_group_offsets(std::string_view group, std::string_view topic,
                                                              OffsetReset to) override;
  [[nodiscard]] NodeMetrics metrics() const override;
  [[nodiscard]] ClientRegistry& client_registry() noexcept override { return clients; }


  // The topic named `name`, or null. Takes the catalog mutex.
  [[nodiscard]] std::shared_ptr<storage::TopicState> find_topic(std::string_view name) const;
  // The topic, or throws Error(not_found) naming it.
  [[nodiscard]] std::shared_ptr<storage::TopicState> topic_or_throw(std::string_view name) const;

  // The broker's state, for its own files (local_broker_*.cpp).

  // Null for an in-memory broker. Declared first so that it is destroyed
  // last: every durable partition is closed before the lock is released.
  std::unique_ptr<BrokerDirectory> directory;
  // Serializes create_topic and delete_topic (and so the catalog file):
  // a durable topic's folders and catalog line change together. Never taken
  // by producers or consumers.
  std::mutex admin_mutex;

  mutable std::mutex catalog_mutex;
  std::map<std::string, std::shared_ptr<storage::TopicState>, std::less<>> topics;

  // Consumers sleeping in poll() wait here; every append and every group
  // change notifies it (a system call only when someone sleeps).
  detail::BlockingWait data_signal;
  group::GroupCoordinator groups;
  // The live producers and consumers, for metrics().
  ClientRegistry clients;
  // The idempotence ids of the live idempotent producers: at most one
  // Producer per id. Guarded by the mutex.
  std::mutex idempotence_ids_mutex;
  std::set<std::string, std::less<>> idempotence_ids;

 private:
  // The group gates of released partitions that no member has taken yet
  // (local_broker_groups.cpp), kept while the coordinator lists them as
  // parked. Guarded by parked_mutex_.
  void prune_parked(const std::string& group);
  std::mutex parked_mutex_;
  std::map<std::pair<std::string, TopicPartition>, std::unique_ptr<ReadGate>> parked_gates_;

  // Durable topics (local_broker_durable.cpp); callers hold admin_mutex.
  void create_durable_topic(std::string_view name, const TopicOptions& requested);
  void delete_durable_topic(storage::TopicState& t);
};

}  // namespace rill::broker
