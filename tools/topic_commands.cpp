// rill topics create | list | describe | delete
#include <chrono>
#include <cstdio>
#include <limits>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "commands.hpp"
#include "rill/error.hpp"
#include "rill/topic.hpp"

namespace rill::cli {

const std::filesystem::path& data_dir(const GlobalOptions& global, bool may_be_missing) {
  if (!global.dir) throw UsageError("missing --dir DIR (the data directory)");
  const std::filesystem::path& dir = *global.dir;
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (std::filesystem::exists(status) && !std::filesystem::is_directory(status)) {
    throw UsageError(fmt::format("--dir '{}' is not a directory", dir.string()));
  }
  if (!std::filesystem::exists(status) && !may_be_missing) {
    throw UsageError(fmt::format("--dir '{}' does not exist", dir.string()));
  }
  return dir;
}

Node open_node(const GlobalOptions& global, bool create_if_missing, bool repair) {
  return Node::open(data_dir(global, create_if_missing),
                    NodeOptions{.create_if_missing = create_if_missing, .repair = repair});
}

namespace {

constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();

// "none", "batch" or "interval:MS" into the topic's fsync fields.
void parse_fsync(std::string_view text, TopicOptions& options) {
  constexpr std::string_view kInterval = "interval:";
  if (text == "none") {
    options.fsync = FsyncPolicy::none;
  } else if (text == "batch") {
    options.fsync = FsyncPolicy::every_batch;
  } else if (text.substr(0, kInterval.size()) == kInterval) {
    options.fsync = FsyncPolicy::interval;
    options.fsync_interval = std::chrono::milliseconds(
        parse_integer("--fsync", text.substr(kInterval.size()), 1, kMaxInt64 / 1'000'000));
  } else {
    throw UsageError(fmt::format("option '--fsync': '{}' is not none, interval:MS or batch", text));
  }
}

CleanupPolicy parse_cleanup(std::string_view text) {
  if (text == "delete") return CleanupPolicy::retention;
  if (text == "compact") return CleanupPolicy::compact;
  throw UsageError(fmt::format("option '--cleanup': '{}' is not delete or compact", text));
}

std::string fsync_text(const TopicOptions& options) {
  if (options.fsync == FsyncPolicy::interval) {
    return fmt::format("interval ({} ms)", options.fsync_interval.count());
  }
  return to_string(options.fsync);
}

std::string limit_text(std::uint64_t value, std::string_view unit) {
  return value == 0 ? std::string("none") : fmt::format("{} {}", value, unit);
}

}  // namespace

int run_topics_create(const GlobalOptions& global, const ParsedCommand& args) {
  TopicOptions options{.storage = StorageKind::durable};
  // The integer options were checked against their ranges (command_table.cpp).
  options.partitions = static_cast<std::int32_t>(*args.integer("--partitions"));
  if (auto v = args.integer("--segment-bytes")) options.segment_bytes = static_cast<std::size_t>(*v);
  if (auto v = args.integer("--retention-bytes")) options.retention_bytes = static_cast<std::uint64_t>(*v);
  if (auto v = args.integer("--retention-ms")) options.retention_ms = std::chrono::milliseconds(*v);
  if (auto v = args.value("--fsync")) parse_fsync(*v, options);
  if (auto v = args.value("--cleanup")) options.cleanup = parse_cleanup(*v);
  if (auto v = args.integer("--tombstone-retention-ms")) options.tombstone_retention = std::chrono::milliseconds(*v);
  Node node = open_node(global, true);
  node.create_topic(args.positionals[0], options);
  return kExitOk;
}

int run_topics_list(const GlobalOptions& global, const ParsedCommand& /*args*/) {
  const Node node = open_node(global, false);
  for (const std::string& name : node.list_topics()) fmt::print("{}\n", name);
  return kExitOk;
}

int run_topics_describe(const GlobalOptions& global, const ParsedCommand& args) {
  const Node node = open_node(global, false);
  const TopicDescription d = node.describe_topic(args.positionals[0]);
  const TopicOptions& o = d.options;
  fmt::print("topic: {}\n", d.name);
  fmt::print("storage: {}\n", o.storage == StorageKind::durable ? "durable" : "memory");
  fmt::print("partitions: {}\n", o.partitions);
  if (o.storage == StorageKind::durable) {
    fmt::print("segment_bytes: {}\n", o.segment_bytes);
    fmt::print("retention_bytes: {}\n", limit_text(o.retention_bytes, "bytes"));
    fmt::print("retention_ms: {}\n",
               limit_text(static_cast<std::uint64_t>(o.retention_ms.count()), "ms"));
    fmt::print("fsync: {}\n", fsync_text(o));
    fmt::print("cleanup: {}\n", to_string(o.cleanup));
    if (o.cleanup == CleanupPolicy::compact) {
      fmt::print("tombstone_retention_ms: {} ms\n", o.tombstone_retention.count());
    }
  } else {
    fmt::print("capacity_bytes: {}\nfull_policy: {}\n", o.capacity_bytes, to_string(o.full_policy));
  }
  fmt::print("max_record_bytes: {}\n", o.max_record_bytes);
  fmt::print("{:<10} {:>20} {:>20} {:>16}\n", "partition", "start_offset", "end_offset", "bytes");
  for (const PartitionInfo& p : d.partitions) {
    fmt::print("{:<10} {:>20} {:>20} {:>16}\n", p.partition, p.start_offset, p.end_offset,
               p.retained_bytes);
  }
  return kExitOk;
}

int run_topics_delete(const GlobalOptions& global, const ParsedCommand& args) {
  Node node = open_node(global, false);
  node.delete_topic(args.positionals[0]);
  return kExitOk;
}

}  // namespace rill::cli
