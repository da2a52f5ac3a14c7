#include "rill/consumer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "client/consumer_impl.hpp"
#include "rill/error.hpp"
#include "base/names.hpp"

namespace rill::client {

ConsumerImpl::ConsumerImpl(std::shared_ptr<broker::Broker> broker, const ConsumerOptions& options)
    : broker_(std::move(broker)),
      gate_name_(fmt::format("consumer:{}", static_cast<const void*>(this))),
      options_(options) {
  if (!options.group.empty()) base::validate_group_id(options.group);
  if (options.max_poll_records < 1) {
    throw Error(ErrorCode::invalid_argument, "consumer max_poll_records must be at least 1");
  }
  if (options.session_timeout < std::chrono::milliseconds(1)) {
    throw Error(ErrorCode::invalid_argument, "consumer session_timeout must be at least 1 ms");
  }
  records_.reserve(std::min<std::size_t>(options.max_poll_records, 1 << 16));
}

ConsumerImpl::~ConsumerImpl() { close(); }

void ConsumerImpl::check_open() const {
  if (closed_) throw Error(ErrorCode::closed, "the consumer is closed");
}

AssignedPartition* ConsumerImpl::find(const TopicPartition& tp) noexcept {
  const auto it = std::lower_bound(assigned_.begin(), assigned_.end(), tp,
                                   [](const AssignedPartition& a, const TopicPartition& b) { return a.tp < b; });
  return it != assigned_.end() && it->tp == tp ? &*it : nullptr;
}

AssignedPartition& ConsumerImpl::require(const TopicPartition& tp) {
  check_open();
  AssignedPartition* ap = find(tp);
  if (ap == nullptr) {
    throw Error(ErrorCode::not_found, fmt::format("topic \"{}\" partition {} is not assigned to this consumer",
                                                  tp.topic, tp.partition));
  }
  return *ap;
}

const AssignedPartition& ConsumerImpl::require(const TopicPartition& tp) const {
  return const_cast<ConsumerImpl*>(this)->require(tp);
}

std::shared_ptr<const broker::TopicRef> ConsumerImpl::topic_of(const TopicPartition& tp) const {
  auto t = broker_->resolve(tp.topic);
  if (!t) {
    throw Error(ErrorCode::not_found,
                fmt::format("topic \"{}\" does not exist (create it with Node::create_topic)", tp.topic));
  }
  if (tp.partition < 0 || tp.partition >= t->partition_count()) {
    throw Error(ErrorCode::not_found, fmt::format("topic \"{}\" has no partition {} (it has {})", tp.topic,
                                                  tp.partition, t->partition_count()));
  }
  return t;
}

void ConsumerImpl::add_partition(const TopicPartition& tp, std::shared_ptr<const broker::TopicRef> topic,
                                 std::int64_t start, std::unique_ptr<broker::ReadGate> gate) {
  AssignedPartition ap;
  ap.tp = tp;
  ap.metrics_slot = counters_.attach(tp, topic, start);
  ap.position = start;
  ap.gate = std::move(gate);
  ap.leases[0] = std::make_unique<broker::FetchLease>();
  ap.leases[1] = std::make_unique<broker::FetchLease>();
  ap.topic = std::move(topic);
  const auto it = std::lower_bound(assigned_.begin(), assigned_.end(), tp,
                                   [](const AssignedPartition& a, const TopicPartition& b) { return a.tp < b; });
  assigned_.insert(it, std::move(ap));
}

void ConsumerImpl::release_to_group(const std::vector<TopicPartition>& partitions) {
  // The group holds its gates on them before ours go.
  (void)broker_->hand_over(options_.group, member_id_, partitions, {}, options_.auto_offset_reset);
  remove_partitions(partitions);
}

void ConsumerImpl::remove_partitions(const std::vector<TopicPartition>& partitions) {
  std::erase_if(assigned_, [&](const AssignedPartition& a) {
    return std::find(partitions.begin(), partitions.end(), a.tp) != partitions.end();
  });
}

void ConsumerImpl::notify_listener(bool revoked, const std::vector<TopicPartition>& partitions) noexcept {
  if (listener_ == nullptr || partitions.empty()) return;
  try {
    if (revoked) {
      listener_->on_partitions_revoked(partitions);
    } else {
      listener_->on_partitions_assigned(partitions);
    }
  } catch (...) {
    // A listener's exception must not leave the rebalance half done.
  }
}

void ConsumerImpl::assign(const std::vector<TopicPartition>& partitions) {
  check_open();
  if (mode_ == Mode::subscribed) {
    throw Error(ErrorCode::invalid_argument, "assign() while subscribed: call unsubscribe() first");
  }
  std::vector<std::pair<TopicPartition, std::shared_ptr<const broker::TopicRef>>> wanted;
  for (const TopicPartition& tp : partitions) wanted.emplace_back(tp, topic_of(tp));
  std::vector<TopicPartition> dropped;
  for (const AssignedPartition& a : assigned_) {
    if (std::find(partitions.begin(), partitions.end(), a.tp) == partitions.end()) dropped.push_back(a.tp);
  }
  remove_partitions(dropped);
  for (auto& [tp, t] : wanted) {
    if (find(tp) != nullptr) continue;
    std::optional<std::int64_t> committed;
    if (!options_.group.empty()) committed = broker_->fetch_offset(options_.group, tp);
    const bool earliest = options_.auto_offset_reset == OffsetReset::earliest;
    const std::int64_t start =
        committed ? *committed
                  : broker_->list_offset(*t, tp.partition,
                                         {earliest ? broker::OffsetSpec::Kind::earliest : broker::OffsetSpec::Kind::latest});
    std::unique_ptr<broker::ReadGate> gate = broker_->open_gate(*t, tp.partition, gate_name_, start);
    const std::int64_t at = gate->move_back(start);  // clamped to the retained window
    add_partition(tp, std::move(t), at, std::move(gate));
  }
  mode_ = assigned_.empty() ? Mode::none : Mode::manual;
}

void ConsumerImpl::subscribe(const std::vector<std::string>& topics, RebalanceListener* listener) {
  check_open();
  if (options_.group.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "subscribe() needs a consumer group: set ConsumerOptions::group (or use assign())");
  }
  if (mode_ == Mode::manual) {
    throw Error(ErrorCode::invalid_argument, "subscribe() while assigned: call unsubscribe() first");
  }
  for (const std::string& t : topics) base::validate_topic_name(t);
  if (mode_ == Mode::subscribed) unsubscribe();
  topics_ = topics;
  listener_ = listener;
  mode_ = Mode::subscribed;
  join_group();
}

void ConsumerImpl::join_group() {
  member_id_ = broker_->join_group({options_.group, topics_, options_.assignment, options_.session_timeout}).member_id;
  sync_needed_ = true;
}

void ConsumerImpl::unsubscribe() {
  check_open();
  if (mode_ == Mode::subscribed) {
    const std::vector<TopicPartition> all = assignment();
    notify_listener(true, all);
    release_to_group(all);  // the next owners continue from our cursors' commits
    broker_->leave_group(options_.group, member_id_);
    member_id_.clear();
    listener_ = nullptr;
    topics_.clear();
  }
  assigned_.clear();
  mode_ = Mode::none;
}

void ConsumerImpl::close() {
  if (closed_) return;
  try {
    unsubscribe();
  } catch (...) {
    // close() runs from the destructor: nothing may escape.
  }
  assigned_.clear();
  closed_ = true;
}

}  // namespace rill::client

namespace rill {

Consumer::Consumer(const Node& node, const ConsumerOptions& options)
    : impl_(std::make_unique<client::ConsumerImpl>(detail::broker_of(node), options)) {}
Consumer::~Consumer() = default;
Consumer::Consumer(Consumer&&) noexcept = default;
Consumer& Consumer::operator=(Consumer&&) noexcept = default;

void Consumer::assign(const std::vector<TopicPartition>& partitions) { impl_->assign(partitions); }
void Consumer::subscribe(const std::vector<std::string>& topics, RebalanceListener* listener) {
  impl_->subscribe(topics, listener);
}
void Consumer::unsubscribe() { impl_->unsubscribe(); }
PollResult Consumer::poll(std::chrono::milliseconds timeout) { return impl_->poll(timeout); }
void Consumer::seek(const TopicPartition& tp, std::int64_t offset) { impl_->seek(tp, offset); }
void Consumer::seek_to_beginning(const std::vector<TopicPartition>& partitions) {
  impl_->seek_to(partitions, false);
}
void Consumer::seek_to_end(const std::vector<TopicPartition>& partitions) { impl_->seek_to(partitions, true); }
std::int64_t Consumer::seek_to_timestamp(const TopicPartition& tp, std::int64_t timestamp_ms) {
  return impl_->seek_to_timestamp(tp, timestamp_ms);
}
std::map<TopicPartition, std::int64_t> Consumer::offsets_for_times(
    const std::map<TopicPartition, std::int64_t>& timestamps_ms) const {
  return impl_->offsets_for_times(timestamps_ms);
}
std::int64_t Consumer::position(const TopicPartition& tp) const { return impl_->position(tp); }
std::int64_t Consumer::lag(const TopicPartition& tp) const { return impl_->lag(tp); }
void Consumer::commit() { impl_->commit(nullptr); }
void Consumer::commit(const std::map<TopicPartition, std::int64_t>& offsets) { impl_->commit(&offsets); }
std::optional<std::int64_t> Consumer::committed(const TopicPartition& tp) const { return impl_->committed(tp); }
void Consumer::pause(const std::vector<TopicPartition>& partitions) { impl_->set_paused(partitions, true); }
void Consumer::resume(const std::vector<TopicPartition>& partitions) { impl_->set_paused(partitions, false); }
std::vector<TopicPartition> Consumer::paused() const { return impl_->paused(); }
std::vector<TopicPartition> Consumer::assignment() const { return impl_->assignment(); }
std::string Consumer::member_id() const { return impl_->member_id(); }
void Consumer::close() { impl_->close(); }

ConsumerMetrics Consumer::metrics() const { return impl_->metrics(); }

}  // namespace rill
