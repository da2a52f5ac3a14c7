// ConsumerImpl: the state behind rill::Consumer (one thread at a time).
//
// Everything goes through the Broker (broker/broker.hpp). Each assigned
// partition holds its position (an offset), a read gate at that position
// (the group's, or this consumer's own when ungrouped or assigned by
// hand), and two fetch leases. poll() first moves each gate up to the
// position (releasing the previous poll's records), takes part in group
// rebalancing, then reads records from the current lease into a reused
// vector of RecordViews; when the lease runs out it fetches into the other
// one, whose views belong to an earlier poll. So a poll fetches at most
// twice per partition, and records left in a lease are read by the next
// poll without a new fetch.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/client_link.hpp"
#include "client/consumer_counters.hpp"
#include "rill/consumer.hpp"
#include "broker/broker.hpp"

namespace rill::client {

struct AssignedPartition {
  TopicPartition tp;
  std::shared_ptr<const broker::TopicRef> topic;
  std::int64_t position = 0;                 // the next offset poll() returns
  std::unique_ptr<broker::ReadGate> gate;    // held at or below position
  // Two leases: `current` is read from; the other holds views of an
  // earlier poll, or of this one once `used` says so.
  std::unique_ptr<broker::FetchLease> leases[2];
  int current = 0;
  bool used[2] = {false, false};             // read from in this poll
  bool paused = false;
  std::optional<LossEvent> pending_loss;  // from a seek below the retained window
  ConsumerCounters::SlotHandle metrics_slot;  // its position, for Node::metrics()
};

class ConsumerImpl {
 public:
  ConsumerImpl(std::shared_ptr<broker::Broker> broker, const ConsumerOptions& options);
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
  // Adds `tp` at `start` under `gate`.
  void add_partition(const TopicPartition& tp, std::shared_ptr<const broker::TopicRef> topic, std::int64_t start,
                     std::unique_ptr<broker::ReadGate> gate);
  // Moves `ap` to `offset` (clamped to the retained window) and returns it.
  std::int64_t move_to(AssignedPartition& ap, std::int64_t offset);
  void remove_partitions(const std::vector<TopicPartition>& partitions);
  // Removes `partitions` and gives them back to the group.
  void release_to_group(const std::vector<TopicPartition>& partitions);
  void notify_listener(bool revoked, const std::vector<TopicPartition>& partitions) noexcept;
  void join_group();
  void group_sync(bool force);
  void apply_target(const std::vector<TopicPartition>& target);
  void fetch();
  void read_partition(AssignedPartition& ap);
  // Fetches at ap.position into a lease this poll has not read from;
  // false when both have been, or when a loss must wait for the next poll
  // (`returned`: this poll already returned records of `ap`).
  [[nodiscard]] bool refill(AssignedPartition& ap, bool returned);
  [[nodiscard]] bool wait_for_data(detail::Deadline deadline);
  [[nodiscard]] bool ready() const noexcept;

  std::shared_ptr<broker::Broker> broker_;
  const std::string gate_name_;  // this consumer's own gate (ungrouped or assigned)
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
