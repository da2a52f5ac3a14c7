// rill::Node: a handle to a broker. Every call is the broker's
// (broker/local_broker*.cpp for a node in this process).
#include "rill/node.hpp"

#include "broker/local_broker.hpp"

namespace rill {

const std::shared_ptr<broker::Broker>& detail::broker_of(const Node& node) noexcept { return node.broker_; }

Node::Node(std::shared_ptr<broker::Broker> broker) noexcept : broker_(std::move(broker)) {}
Node::~Node() = default;

Node Node::in_memory() { return Node(broker::LocalBroker::in_memory()); }

Node Node::open(const std::filesystem::path& dir, const NodeOptions& options) {
  return Node(broker::LocalBroker::open(dir, options));
}

void Node::create_topic(std::string_view name, const TopicOptions& options) { broker_->create_topic(name, options); }

bool Node::has_topic(std::string_view name) const noexcept {
  try {
    return broker_->resolve(name) != nullptr;
  } catch (...) {
    return false;  // only a failing mutex or allocation could throw
  }
}

std::vector<std::string> Node::list_topics() const { return broker_->list_topics(); }

TopicDescription Node::describe_topic(std::string_view name) const { return broker_->describe_topic(name); }

void Node::delete_topic(std::string_view name) { broker_->delete_topic(name); }

std::vector<std::string> Node::list_groups() const { return broker_->list_groups(); }

GroupDescription Node::describe_group(std::string_view group) const { return broker_->describe_group(group); }

std::map<TopicPartition, std::int64_t> Node::reset_group_offsets(std::string_view group, std::string_view topic,
                                                                 OffsetReset to) {
  return broker_->reset_group_offsets(group, topic, to);
}

NodeMetrics Node::metrics() const { return broker_->metrics(); }

std::filesystem::path Node::directory() const {
  return broker_->data_directory();
}

}  // namespace rill
