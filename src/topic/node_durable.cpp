// The durable side of rill::Node: Node::open, and the creation, reopening
// and deletion of StorageKind::durable topics (catalog.hpp, durable_partition.hpp).
#include "topic/node_durable.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "log/file_system.hpp"
#include "rill/error.hpp"
#include "rill/node.hpp"
#include "topic/catalog.hpp"
#include "topic/durable_partition.hpp"
#include "topic/offset_store.hpp"

namespace rill {
namespace topic {
namespace {

constexpr std::size_t kDefaultSegmentBytes = std::size_t{64} << 20;
constexpr std::size_t kBatchOverhead = 128;  // as for memory topics: header, framing, room to spare

log::FsyncPolicy to_log_policy(FsyncPolicy policy) noexcept {
  switch (policy) {
    case FsyncPolicy::none: return log::FsyncPolicy::none;
    case FsyncPolicy::interval: return log::FsyncPolicy::interval;
    case FsyncPolicy::every_batch: return log::FsyncPolicy::every_batch;
  }
  return log::FsyncPolicy::none;
}

std::shared_ptr<TopicState> open_durable_topic(detail::NodeState& node, const CatalogEntry& entry) {
  const detail::NodeDirectory& dir = *node.directory;
  auto t = std::make_shared<TopicState>();
  t->name = entry.name;
  t->options = entry.options;
  log::PartitionLogOptions lo;
  lo.segment_bytes = entry.options.segment_bytes;
  lo.fsync_policy = to_log_policy(entry.options.fsync);
  lo.fsync_interval = entry.options.fsync_interval;
  lo.retention_bytes = entry.options.retention_bytes;
  lo.retention_age = entry.options.retention_ms;
  lo.repair = dir.options.repair;
  for (std::int32_t p = 0; p < entry.options.partitions; ++p) {
    const std::string path = partition_dir(dir.path, entry.name, p);
    auto partition = std::make_unique<DurablePartition>(
        log::PartitionLog::open(path, lo), entry.options, fmt::format("{}-{}", entry.name, p),
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
std::vector<CatalogEntry> durable_entries(detail::NodeState& node) {
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
    std::filesystem::remove_all(partition_dir(dir, name, p), ec);
    if (ec) {
      throw Error(ErrorCode::io, fmt::format("remove \"{}\": {}", partition_dir(dir, name, p), ec.message()));
    }
  }
}

}  // namespace

TopicOptions resolve_durable_options(std::string_view name, const TopicOptions& requested) {
  TopicOptions o = requested;
  auto bad = [&](std::string_view what) {
    throw Error(ErrorCode::invalid_argument, fmt::format("topic \"{}\": {}", name, what));
  };
  if (o.segment_bytes == 0) o.segment_bytes = kDefaultSegmentBytes;
  if (o.partitions < 1 || o.partitions > TopicOptions::kMaxPartitions) {
    bad(fmt::format("partitions = {}: must be between 1 and {}", o.partitions, TopicOptions::kMaxPartitions));
  }
  if (o.segment_bytes % 4096 != 0 || o.segment_bytes < TopicOptions::kMinSegmentBytes ||
      o.segment_bytes > TopicOptions::kMaxSegmentBytes) {
    bad(fmt::format("segment_bytes = {}: must be a multiple of 4096 between {} and {}", o.segment_bytes,
                    TopicOptions::kMinSegmentBytes, TopicOptions::kMaxSegmentBytes));
  }
  if (o.max_record_bytes == 0) o.max_record_bytes = std::min<std::size_t>(1 << 20, o.segment_bytes / 2 - kBatchOverhead);
  if (o.max_record_bytes < 64) bad(fmt::format("max_record_bytes = {}: must be at least 64", o.max_record_bytes));
  if (o.segment_bytes / 2 < o.max_record_bytes + kBatchOverhead) {
    bad(fmt::format("segment_bytes = {} cannot hold two of the largest batches (max_record_bytes = {} + {} "
                    "bytes of framing, twice): raise segment_bytes or lower max_record_bytes",
                    o.segment_bytes, o.max_record_bytes, kBatchOverhead));
  }
  if (o.full_policy == FullPolicy::overwrite) {
    bad("full_policy = overwrite is for memory topics: a durable topic is never full; bound it with "
        "retention_bytes or retention_ms");
  }
  if (o.retention_ms.count() < 0) bad("retention_ms must not be negative (0 means no age limit)");
  if (o.tombstone_retention.count() < 0) bad("tombstone_retention must not be negative");
  if (o.fsync == FsyncPolicy::interval && o.fsync_interval.count() <= 0) {
    bad("fsync_interval must be positive under FsyncPolicy::interval");
  }
  if (o.block_timeout.count() < 0) bad("block_timeout must not be negative");
  return o;
}

void create_durable_topic(detail::NodeState& node, std::string_view name, const TopicOptions& requested) {
  const CatalogEntry entry{std::string(name), resolve_durable_options(name, requested)};
  const std::string& dir = node.directory->path;
  if (node.find_topic(name)) {
    throw Error(ErrorCode::already_exists, fmt::format("topic \"{}\" already exists", name));
  }
  // Folders of this name not in the catalog are leftovers of a topic whose
  // deletion was cut short: never let a new topic inherit their records.
  remove_partition_dirs(dir, entry.name, 0, entry.options.partitions);
  std::shared_ptr<TopicState> t = open_durable_topic(node, entry);
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

void delete_durable_topic(detail::NodeState& node, TopicState& t) {
  const std::string& dir = node.directory->path;
  write_catalog(log::default_file_system(), dir, durable_entries(node));
  for (auto& partition : t.partitions) static_cast<DurablePartition&>(*partition).close();
  remove_partition_dirs(dir, t.name, 0, t.partition_count());
  log::default_file_system().sync_directory(dir);
}

}  // namespace topic

Node Node::open(const std::filesystem::path& dir, const NodeOptions& options) {
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
  auto state = std::make_shared<detail::NodeState>();
  state->directory = std::make_unique<detail::NodeDirectory>();
  // Absolute, so that a later chdir of the process cannot move the partitions.
  state->directory->path = std::filesystem::absolute(dir).lexically_normal().string();
  if (state->directory->path.size() > 1 && state->directory->path.back() == '/') {
    state->directory->path.pop_back();
  }
  state->directory->options = options;
  state->directory->lock = std::make_unique<topic::DirectoryLock>(state->directory->path);
  for (const topic::CatalogEntry& e : topic::read_catalog(log::default_file_system(), state->directory->path)) {
    topic::CatalogEntry entry{e.name, topic::resolve_durable_options(e.name, e.options)};
    state->topics.emplace(entry.name, topic::open_durable_topic(*state, entry));
  }
  // Committed group offsets: replayed from __consumer_offsets (offset_store.hpp).
  auto store = std::make_unique<topic::OffsetStore>(state->directory->path, options.repair, &state->data_signal,
                                                    state->directory->log_cleaner);
  topic::CommittedOffsets restored = store->replay();
  state->groups.attach_store(std::move(store), std::move(restored));
  return Node(std::move(state));
}

std::filesystem::path Node::directory() const {
  return state_->directory ? std::filesystem::path(state_->directory->path) : std::filesystem::path();
}

}  // namespace rill
