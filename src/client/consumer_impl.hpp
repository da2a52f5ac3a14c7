// ConsumerImpl: the state behind rill::Consumer (one thread at a time).
//
// Each assigned partition holds a storage::PartitionReader (a cursor on the
// partition's log). poll() starts every reader's poll (which releases the
// previous poll's views), takes part in group rebalancing, then decodes
// batches straight into a reused vector of RecordViews.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/client_link.hpp"
#include "client/consumer_counters.hpp"
#include "rill/consumer.hpp"
#include "broker/local_broker.hpp"

namespace rill::client {

// The storage of a partition of a LocalBroker's topic, for the reader.
[[nodiscard]] inline storage::Partition& storage_of(const broker::TopicRef& topic, std::int32_t partition) noexcept {
  return static_cast<const broker::LocalTopic&>(topic).partition(partition);
}

struct AssignedPartition {
  TopicPartition tp;
  std::shared_ptr<const broker::TopicRef> topic;
  std::unique_ptr<storage::PartitionReader> reader;
  bool paused = false;
  std::optional<LossEvent> pending_loss;  // from a seek below the retained window
  ConsumerCounters::SlotHandle metrics_slot;  // its position, for Node::metrics()
};

class ConsumerImpl {
 public:
  ConsumerImpl(std::shared_ptr<broker::LocalBroker> broker, const ConsumerOptions& options);
  ~ConsumerImpl();

  void assign(const std::vector<TopicPartition>& partitions);
  void subscribe(const std::vector<std::string>& topics, RebalanceListener* listener);
  void unsubscribe();
  PollResult poll(std::chrono::milliseconds timeout);
  void seek(const TopicPartition& tp, std::int64_t offset);
  void seek_to(const std::vector<TopicPartition>& partitions, bool end);
  std::int64_t seek_to_timestamp(const TopicPartition& tp, std::int64_t timestamp_ms);
  std::map<TopicPartition, std::int64_t> offsets_for_times(
      const std::map<TopicPartition, std::int64_t>& timestamps_ms) const;
  std::int64_t position(const TopicPartition& tp) const;
  std::int64_t lag(const TopicPartition& tp) const;
  void commit(const std::map<TopicPartition, std::int64_t>* offsets);
  std::optional<std::int64_t> committed(const TopicPartition& tp) const;
  void set_paused(const std::vector<TopicPartition>& partitions, bool paused);
  std::vector<TopicPartition> paused() const;
  std::vector<TopicPartition> assignment() const;
  const std::string& member_id() const noexcept { return member_id_; }
  // Counters and positions now (consumer_metrics.cpp).
  [[nodiscard]] ConsumerMetrics metrics() const;
  void close();

 private:
  enum class Mode { none, manual, subscribed };
  using Clock = std::chrono::steady_clock;

  void check_open() const;
  AssignedPartition* find(const TopicPartition& tp) noexcept;
  const AssignedPartition& require(const TopicPartition& tp) const;
  AssignedPartition& require(const TopicPartition& tp);
  // Adds `tp` at `committed`, else at auto_offset_reset; reuses `reader`
  // (a cursor parked by the group) when given.
  void add_partition(const TopicPartition& tp, std::shared_ptr<const broker::TopicRef> topic,
                     std::optional<std::int64_t> committed,
                     std::unique_ptr<storage::PartitionReader> reader = nullptr);
  void remove_partitions(const std::vector<TopicPartition>& partitions);
  // Removes `partitions` and gives them (with their cursors) back to the group.
  void release_to_group(const std::vector<TopicPartition>& partitions);
  void notify_listener(bool revoked, const std::vector<TopicPartition>& partitions) noexcept;
  void join_group();
  void group_sync(bool force);
  void apply_target(const std::vector<TopicPartition>& target);
  void fetch();
  void read_partition(AssignedPartition& ap);
  [[nodiscard]] bool wait_for_data(detail::Deadline deadline);
  [[nodiscard]] bool ready() const noexcept;

  std::shared_ptr<broker::LocalBroker> broker_;
  // The topic `tp` names, checked to have that partition: Error(not_found).
  [[nodiscard]] std::shared_ptr<const broker::TopicRef> topic_of(const TopicPartition& tp) const;
  const ConsumerOptions options_;
  std::vector<AssignedPartition> assigned_;  // sorted by tp
  Mode mode_ = Mode::none;
  bool closed_ = false;

  std::vector<std::string> topics_;          // the subscription
  RebalanceListener* listener_ = nullptr;
  std::string member_id_;
  std::int64_t seen_epoch_ = 0;
  Clock::time_point last_sync_{};
  bool sync_needed_ = false;

  std::vector<RecordView> records_;          // this poll's views
  std::vector<LossEvent> losses_;            // this poll's losses
  std::size_t next_start_ = 0;               // rotates the first partition read

  // Metrics (consumer_metrics.cpp): counts this fetch's records and losses
  // and publishes the positions. Once per fetch.
  void note_fetch() noexcept;
  [[nodiscard]] ClientLink link_metrics();
  ConsumerCounters counters_;
  // Last: registered with the node once the members above exist, removed
  // before they go.
  ClientLink metrics_link_ = link_metrics();
};

}  // namespace rill::client
