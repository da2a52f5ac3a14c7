#include "rill/node.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "rill/error.hpp"
#include "topic/memory_partition.hpp"
#include "topic/names.hpp"
#include "topic/node_durable.hpp"
#include "topic/node_state.hpp"
#include "topic/offset_store.hpp"

namespace rill {
namespace detail {

NodeState::NodeState()
    : groups([this](const std::string& name) {
                auto t = find_topic(name);
                return t ? t->partition_count() : 0;
              },
              &data_signal) {}

std::shared_ptr<topic::TopicState> NodeState::find_topic(std::string_view name) const {
  std::lock_guard lock(catalog_mutex);
  const auto it = topics.find(name);
  return it == topics.end() ? nullptr : it->second;
}

std::shared_ptr<topic::TopicState> NodeState::topic_or_throw(std::string_view name) const {
  auto t = find_topic(name);
  if (!t) {
    throw Error(ErrorCode::not_found,
                fmt::format("topic \"{}\" does not exist (create it with Node::create_topic)", name));
  }
  return t;
}

}  // namespace detail

namespace {

// Bytes of framing around the largest record in its own batch: batch
// header, frame header and alignment, with room to spare.
constexpr std::size_t kBatchOverhead = 128;

void validate_options(std::string_view name, const TopicOptions& o) {
  auto bad = [&](std::string_view what) {
    throw Error(ErrorCode::invalid_argument, fmt::format("topic \"{}\": {}", name, what));
  };
  if (o.partitions < 1 || o.partitions > TopicOptions::kMaxPartitions) {
    bad(fmt::format("partitions = {}: must be between 1 and {}", o.partitions, TopicOptions::kMaxPartitions));
  }
  if (o.capacity_bytes < TopicOptions::kMinCapacityBytes) {
    bad(fmt::format("capacity_bytes = {}: must be at least {}", o.capacity_bytes, TopicOptions::kMinCapacityBytes));
  }
  if (o.max_record_bytes < 64) bad(fmt::format("max_record_bytes = {}: must be at least 64", o.max_record_bytes));
  if (o.max_record_bytes > (std::size_t{1} << 29) ||
      o.capacity_bytes / 2 < o.max_record_bytes + kBatchOverhead) {
    bad(fmt::format("capacity_bytes = {} cannot hold two of the largest batches (max_record_bytes = {} "
                    "+ {} bytes of framing, twice): raise capacity_bytes to at least {} or lower "
                    "max_record_bytes",
                    o.capacity_bytes, o.max_record_bytes, kBatchOverhead,
                    2 * (o.max_record_bytes + kBatchOverhead)));
  }
  if (o.block_timeout.count() < 0) bad("block_timeout must not be negative");
}

void refuse_internal(std::string_view name, std::string_view action) {
  if (topic::is_internal_name(name)) {
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
  topic::validate_topic_name(name);
  refuse_internal(name, "created");
  std::lock_guard admin(state_->admin_mutex);
  if (requested.storage == StorageKind::durable && state_->directory) {
    topic::create_durable_topic(*state_, name, requested);
    state_->groups.topics_changed();
    return;
  }
  TopicOptions options = requested;
  if (options.max_record_bytes == 0 && options.capacity_bytes >= TopicOptions::kMinCapacityBytes) {
    options.max_record_bytes = std::min<std::size_t>(1 << 20, options.capacity_bytes / 2 - kBatchOverhead);
  }
  validate_options(name, options);
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
  auto t = std::make_shared<topic::TopicState>();
  t->name = std::string(name);
  t->options = options;
  for (std::int32_t p = 0; p < options.partitions; ++p) {
    t->partitions.push_back(std::make_unique<topic::MemoryPartition>(options.capacity_bytes,
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
  std::shared_ptr<topic::TopicState> t;
  {
    std::lock_guard lock(state_->catalog_mutex);
    const auto it = state_->topics.find(name);
    if (it == state_->topics.end()) {
      throw Error(ErrorCode::not_found, fmt::format("topic \"{}\" does not exist", name));
    }
    t = std::move(it->second);
    state_->topics.erase(it);
  }
  t->deleted.store(true, std::memory_order_relaxed);  // relaxed: see TopicState::deleted
  state_->groups.topics_changed();
  if (t->options.storage == StorageKind::durable) topic::delete_durable_topic(*state_, *t);
}

}  // namespace rill
