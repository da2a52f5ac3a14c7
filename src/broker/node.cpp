#include "rill/node.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "rill/error.hpp"
#include "storage/memory_partition.hpp"
#include "storage/topic_options.hpp"
#include "base/names.hpp"
#include "broker/node_durable.hpp"
#include "broker/node_state.hpp"
#include "group/offset_store.hpp"

namespace rill {
namespace detail {

NodeState::NodeState()
    : groups([this](const std::string& name) {
                auto t = find_topic(name);
                return t ? t->partition_count() : 0;
              },
              &data_signal) {}

std::shared_ptr<storage::TopicState> NodeState::find_topic(std::string_view name) const {
  std::lock_guard lock(catalog_mutex);
  const auto it = topics.find(name);
  return it == topics.end() ? nullptr : it->second;
}

std::shared_ptr<storage::TopicState> NodeState::topic_or_throw(std::string_view name) const {
  auto t = find_topic(name);
  if (!t) {
    throw Error(ErrorCode::not_found,
                fmt::format("topic \"{}\" does not exist (create it with Node::create_topic)", name));
  }
  return t;
}

}  // namespace detail

namespace {

void refuse_internal(std::string_view name, std::string_view action) {
  if (group::is_internal_name(name)) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("topic \"{}\": names starting with \"__\" are reserved for internal topics "
                            "and cannot be {}",
                            name, action));
  }
}

}  // namespace

Node::Node(std::shared_ptr<detail::NodeState> state) noexcept : state_(std::move(state)) {}
Node::~Node() = default;

Node Node::in_memory() { return Node(std::make_shared<detail::NodeState>()); }

void Node::create_topic(std::string_view name, const TopicOptions& requested) {
  base::validate_topic_name(name);
  refuse_internal(name, "created");
  std::lock_guard admin(state_->admin_mutex);
  if (requested.storage == StorageKind::durable && state_->directory) {
    broker::create_durable_topic(*state_, name, requested);
    state_->groups.topics_changed();
    return;
  }
  const TopicOptions options = storage::resolve_topic_options(name, requested, StorageKind::memory);
  if (options.storage != StorageKind::memory) {
    throw Error(ErrorCode::unsupported,
                fmt::format("topic \"{}\": durable storage needs a node opened on a directory "
                            "(Node::open); "
                            "an in-memory node only has StorageKind::memory",
                            name));
  }
  if (state_->find_topic(name)) {
    throw Error(ErrorCode::already_exists, fmt::format("topic \"{}\" already exists", name));
  }
  auto t = std::make_shared<storage::TopicState>();
  t->name = std::string(name);
  t->options = options;
  for (std::int32_t p = 0; p < options.partitions; ++p) {
    t->partitions.push_back(std::make_unique<storage::MemoryPartition>(options.capacity_bytes,
                                                                     options.full_policy,
                                                                     &state_->data_signal));
  }
  {
    std::lock_guard lock(state_->catalog_mutex);
    if (!state_->topics.emplace(t->name, t).second) {
      throw Error(ErrorCode::already_exists, fmt::format("topic \"{}\" already exists", name));
    }
  }
  state_->groups.topics_changed();
}

bool Node::has_topic(std::string_view name) const noexcept {
  try {
    return state_->find_topic(name) != nullptr;
  } catch (...) {
    return false;  // only a failing mutex could throw
  }
}

std::vector<std::string> Node::list_topics() const {
  std::lock_guard lock(state_->catalog_mutex);
  std::vector<std::string> names;
  names.reserve(state_->topics.size());
  for (const auto& [n, t] : state_->topics) names.push_back(n);
  return names;
}

TopicDescription Node::describe_topic(std::string_view name) const {
  auto t = state_->topic_or_throw(name);
  TopicDescription d{t->name, t->options, {}};
  for (std::int32_t p = 0; p < t->partition_count(); ++p) {
    PartitionInfo info = t->partitions[static_cast<std::size_t>(p)]->info();
    info.partition = p;
    d.partitions.push_back(info);
  }
  return d;
}

void Node::delete_topic(std::string_view name) {
  refuse_internal(name, "deleted");
  std::lock_guard admin(state_->admin_mutex);
  std::shared_ptr<storage::TopicState> t;
  {
    std::lock_guard lock(state_->catalog_mutex);
    const auto it = state_->topics.find(name);
    if (it == state_->topics.end()) {
      throw Error(ErrorCode::not_found, fmt::format("topic \"{}\" does not exist", name));
    }
    t = std::move(it->second);
    state_->topics.erase(it);
  }
  t->deleted.store(true, std::memory_order_relaxed);  // relaxed: see storage::TopicState::deleted
  state_->groups.topics_changed();
  if (t->options.storage == StorageKind::durable) broker::delete_durable_topic(*state_, *t);
}

}  // namespace rill
