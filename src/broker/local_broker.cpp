// LocalBroker: topics, produce, list offsets and idempotence (the group
// calls are in local_broker_groups.cpp, directories in
// local_broker_durable.cpp, metrics in local_broker_metrics.cpp).
#include "broker/local_broker.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <limits>

#include "base/names.hpp"
#include "group/offset_store.hpp"
#include "rill/error.hpp"
#include "storage/memory_partition.hpp"
#include "storage/topic_options.hpp"

namespace rill::broker {
namespace {

void refuse_internal(std::string_view name, std::string_view action) {
  if (group::is_internal_name(name)) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("topic \"{}\": names starting with \"__\" are reserved for internal topics "
                            "and cannot be {}",
                            name, action));
  }
}

ProduceStatus produce_status(storage::AppendStatus status) noexcept {
  switch (status) {
    case storage::AppendStatus::ok: return ProduceStatus::ok;
    case storage::AppendStatus::full: return ProduceStatus::full;
    case storage::AppendStatus::timed_out: return ProduceStatus::timed_out;
    case storage::AppendStatus::too_large: return ProduceStatus::too_large;
    case storage::AppendStatus::failed: break;
  }
  return ProduceStatus::failed;
}

}  // namespace

LocalBroker::LocalBroker()
    : groups([this](const std::string& name) {
                auto t = find_topic(name);
                return t ? t->partition_count() : 0;
              },
              &data_signal) {}

LocalBroker::~LocalBroker() = default;

std::shared_ptr<LocalBroker> LocalBroker::in_memory() { return std::make_shared<LocalBroker>(); }

std::shared_ptr<storage::TopicState> LocalBroker::find_topic(std::string_view name) const {
  std::lock_guard lock(catalog_mutex);
  const auto it = topics.find(name);
  return it == topics.end() ? nullptr : it->second;
}

std::shared_ptr<storage::TopicState> LocalBroker::topic_or_throw(std::string_view name) const {
  auto t = find_topic(name);
  if (!t) {
    throw Error(ErrorCode::not_found,
                fmt::format("topic \"{}\" does not exist (create it with Node::create_topic)", name));
  }
  return t;
}

std::shared_ptr<const TopicRef> LocalBroker::resolve(std::string_view topic) const {
  auto t = find_topic(topic);
  if (!t) return nullptr;
  return std::make_shared<const LocalTopic>(std::move(t));
}

std::vector<std::string> LocalBroker::list_topics() const {
  std::lock_guard lock(catalog_mutex);
  std::vector<std::string> names;
  names.reserve(topics.size());
  for (const auto& [n, t] : topics) names.push_back(n);
  return names;
}

void LocalBroker::create_topic(std::string_view name, const TopicOptions& requested) {
  base::validate_topic_name(name);
  refuse_internal(name, "created");
  std::lock_guard admin(admin_mutex);
  if (requested.storage == StorageKind::durable && directory) {
    create_durable_topic(name, requested);
    groups.topics_changed();
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
  if (find_topic(name)) {
    throw Error(ErrorCode::already_exists, fmt::format("topic \"{}\" already exists", name));
  }
  auto t = std::make_shared<storage::TopicState>();
  t->name = std::string(name);
  t->options = options;
  for (std::int32_t p = 0; p < options.partitions; ++p) {
    t->partitions.push_back(
        std::make_unique<storage::MemoryPartition>(options.capacity_bytes, options.full_policy, &data_signal));
  }
  {
    std::lock_guard lock(catalog_mutex);
    if (!topics.emplace(t->name, t).second) {
      throw Error(ErrorCode::already_exists, fmt::format("topic \"{}\" already exists", name));
    }
  }
  groups.topics_changed();
}

TopicDescription LocalBroker::describe_topic(std::string_view name) const {
  auto t = topic_or_throw(name);
  TopicDescription d{t->name, t->options, {}};
  for (std::int32_t p = 0; p < t->partition_count(); ++p) {
    PartitionInfo info = t->partitions[static_cast<std::size_t>(p)]->info();
    info.partition = p;
    d.partitions.push_back(info);
  }
  return d;
}

PartitionInfo LocalBroker::partition_info(const TopicRef& topic, std::int32_t partition) const {
  PartitionInfo info = LocalTopic::of(topic).partition(partition).info();
  info.partition = partition;
  return info;
}

void LocalBroker::delete_topic(std::string_view name) {
  refuse_internal(name, "deleted");
  std::lock_guard admin(admin_mutex);
  std::shared_ptr<storage::TopicState> t;
  {
    std::lock_guard lock(catalog_mutex);
    const auto it = topics.find(name);
    if (it == topics.end()) {
      throw Error(ErrorCode::not_found, fmt::format("topic \"{}\" does not exist", name));
    }
    t = std::move(it->second);
    topics.erase(it);
  }
  t->deleted.store(true, std::memory_order_relaxed);  // relaxed: see storage::TopicState::deleted
  groups.topics_changed();
  if (t->options.storage == StorageKind::durable) delete_durable_topic(*t);
}

ProduceResult LocalBroker::produce(const TopicRef& topic, std::int32_t partition, std::span<std::byte> batch,
                                   const ProduceRequest& request) noexcept {
  storage::Partition& p = LocalTopic::of(topic).partition(partition);
  ProduceResult out;
  const storage::AppendResult r =
      request.defer_sync
          ? p.append_deferring_sync(batch, request.wait_for_room, request.deadline, out.sync_pending_end)
          : p.append(batch, request.wait_for_room, request.deadline);
  out.status = produce_status(r.status);
  out.base_offset = r.base_offset;
  out.durable = r.durable;
  out.duplicate = r.duplicate;
  out.error = r.error;
  return out;
}

std::shared_ptr<const Error> LocalBroker::await_durable(const TopicRef& topic, std::int32_t partition,
                                                        std::int64_t end_offset) noexcept {
  return LocalTopic::of(topic).partition(partition).await_durable(end_offset);
}

std::size_t LocalBroker::max_batch_bytes(const TopicRef& topic, std::int32_t partition) const {
  return LocalTopic::of(topic).partition(partition).max_batch_bytes();
}

std::int64_t LocalBroker::init_producer_id(const std::string& idempotence_id) {
  {
    std::lock_guard lock(idempotence_ids_mutex);
    if (!idempotence_ids.insert(idempotence_id).second) {
      throw Error(ErrorCode::already_exists,
                  fmt::format("ProducerOptions::idempotence_id \"{}\": a live Producer on this node already "
                              "uses it (close or destroy that one first; one Producer per id keeps the "
                              "sequences in order)",
                              idempotence_id));
    }
  }
  // XXH3-64 of the id with the sign bit cleared: stable across processes
  // and versions, never -1 ("no producer id").
  const std::uint64_t hash = XXH3_64bits(idempotence_id.data(), idempotence_id.size());
  return static_cast<std::int64_t>(hash & static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
}

void LocalBroker::release_producer_id(const std::string& idempotence_id) noexcept {
  std::lock_guard lock(idempotence_ids_mutex);
  const auto it = idempotence_ids.find(idempotence_id);
  if (it != idempotence_ids.end()) idempotence_ids.erase(it);
}

std::int32_t LocalBroker::next_sequence(const TopicRef& topic, std::int32_t partition,
                                        std::int64_t producer_id) noexcept {
  return LocalTopic::of(topic).partition(partition).next_sequence(producer_id);
}

std::int64_t LocalBroker::list_offset(const TopicRef& topic, std::int32_t partition, const OffsetSpec& spec) {
  storage::Partition& p = LocalTopic::of(topic).partition(partition);
  switch (spec.kind) {
    case OffsetSpec::Kind::earliest: return p.info().start_offset;
    case OffsetSpec::Kind::latest: return p.end_offset();
    case OffsetSpec::Kind::timestamp: break;
  }
  return p.offset_for_timestamp(spec.timestamp_ms);
}

std::filesystem::path LocalBroker::data_directory() const {
  return directory ? std::filesystem::path(directory->path) : std::filesystem::path();
}

}  // namespace rill::broker
