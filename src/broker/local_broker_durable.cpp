// LocalBroker on a data directory: open, and the creation, reopening and
// deletion of StorageKind::durable topics (catalog.hpp, durable_partition.hpp).
#include "broker/local_broker.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "log/file_system.hpp"
#include "rill/error.hpp"
#include "broker/catalog.hpp"
#include "storage/durable_partition.hpp"
#include "group/offset_store.hpp"
#include "storage/topic_options.hpp"

namespace rill::broker {
namespace {


std::shared_ptr<storage::TopicState> open_durable_topic(LocalBroker& node, const CatalogEntry& entry) {
  const BrokerDirectory& dir = *node.directory;
  auto t = std::make_shared<storage::TopicState>();
  t->name = entry.name;
  t->options = entry.options;
  log::SegmentLogOptions lo;
  lo.segment_bytes = entry.options.segment_bytes;
  lo.fsync_policy = entry.options.fsync;
  lo.fsync_interval = entry.options.fsync_interval;
  lo.retention_bytes = entry.options.retention_bytes;
  lo.retention_age = entry.options.retention_ms;
  lo.repair = dir.options.repair;
  for (std::int32_t p = 0; p < entry.options.partitions; ++p) {
    const std::string path = storage::partition_dir(dir.path, entry.name, p);
    auto partition = std::make_unique<storage::DurablePartition>(
        log::SegmentLog::open(path, lo), entry.options, fmt::format("{}-{}", entry.name, p),
        &node.data_signal);
    if (entry.options.fsync == FsyncPolicy::interval) {
      partition->start_interval_sync(dir.sync_timer, entry.options.fsync_interval);
    }
    if (entry.options.cleanup == CleanupPolicy::compact) {
      partition->start_compaction(dir.log_cleaner, entry.options.tombstone_retention);
    }
    t->partitions.push_back(std::move(partition));
  }
  return t;
}

// The durable topics of the node, for the catalog (under admin_mutex).
std::vector<CatalogEntry> durable_entries(LocalBroker& node) {
  std::vector<CatalogEntry> entries;
  std::lock_guard lock(node.catalog_mutex);
  for (const auto& [name, t] : node.topics) {
    if (t->options.storage == StorageKind::durable) entries.push_back({name, t->options});
  }
  return entries;
}

void remove_partition_dirs(const std::string& dir, const std::string& name, std::int32_t from,
                           std::int32_t to) {
  for (std::int32_t p = from; p < to; ++p) {
    std::error_code ec;
    std::filesystem::remove_all(storage::partition_dir(dir, name, p), ec);
    if (ec) {
      throw Error(ErrorCode::io, fmt::format("remove \"{}\": {}", storage::partition_dir(dir, name, p), ec.message()));
    }
  }
}

}  // namespace


void LocalBroker::create_durable_topic(std::string_view name, const TopicOptions& requested) {
  LocalBroker& node = *this;
  const CatalogEntry entry{std::string(name), storage::resolve_topic_options(name, requested, StorageKind::durable)};
  const std::string& dir = node.directory->path;
  if (node.find_topic(name)) {
    throw Error(ErrorCode::already_exists, fmt::format("topic \"{}\" already exists", name));
  }
  // Folders of this name not in the catalog are leftovers of a topic whose
  // deletion was cut short: never let a new topic inherit their records.
  remove_partition_dirs(dir, entry.name, 0, entry.options.partitions);
  std::shared_ptr<storage::TopicState> t = open_durable_topic(node, entry);
  {
    std::lock_guard lock(node.catalog_mutex);
    if (!node.topics.emplace(t->name, t).second) {
      throw Error(ErrorCode::already_exists, fmt::format("topic \"{}\" already exists", name));
    }
  }
  try {
    write_catalog(log::default_file_system(), dir, durable_entries(node));
  } catch (...) {
    std::lock_guard lock(node.catalog_mutex);
    node.topics.erase(t->name);
    throw;
  }
}

void LocalBroker::delete_durable_topic(storage::TopicState& t) {
  LocalBroker& node = *this;
  const std::string& dir = node.directory->path;
  write_catalog(log::default_file_system(), dir, durable_entries(node));
  for (auto& partition : t.partitions) static_cast<storage::DurablePartition&>(*partition).close();
  remove_partition_dirs(dir, t.name, 0, t.partition_count());
  log::default_file_system().sync_directory(dir);
}

std::shared_ptr<LocalBroker> LocalBroker::open(const std::filesystem::path& dir, const NodeOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    if (!options.create_if_missing) {
      throw Error(ErrorCode::not_found,
                  fmt::format("data directory \"{}\" does not exist (set NodeOptions::create_if_missing)",
                              dir.string()));
    }
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(ErrorCode::io, fmt::format("create directory \"{}\": {}", dir.string(), ec.message()));
  } else if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("data directory \"{}\" is not a directory", dir.string()));
  }
  auto state = std::make_shared<LocalBroker>();
  state->directory = std::make_unique<BrokerDirectory>();
  // Absolute, so that a later chdir of the process cannot move the partitions.
  state->directory->path = std::filesystem::absolute(dir).lexically_normal().string();
  if (state->directory->path.size() > 1 && state->directory->path.back() == '/') {
    state->directory->path.pop_back();
  }
  state->directory->options = options;
  state->directory->lock = std::make_unique<DirectoryLock>(state->directory->path);
  for (const CatalogEntry& e : read_catalog(log::default_file_system(), state->directory->path)) {
    CatalogEntry entry{e.name, storage::resolve_topic_options(e.name, e.options, StorageKind::durable)};
    state->topics.emplace(entry.name, open_durable_topic(*state, entry));
  }
  // Committed group offsets: replayed from __consumer_offsets (offset_store.hpp).
  auto store = std::make_unique<group::OffsetStore>(state->directory->path, options.repair, &state->data_signal,
                                                    state->directory->log_cleaner);
  group::CommittedOffsets restored = store->replay();
  state->groups.attach_store(std::move(store), std::move(restored));
  return state;
}

}  // namespace rill::broker
