// OffsetStore: the committed offsets of a durable node's consumer groups,
// kept as records of the internal topic `__consumer_offsets` (one durable
// partition, folder `__consumer_offsets-0` in the node's directory).
//
// Design
// - One commit (of any number of partitions) is one batch: one record per
//   partition, key = (group, topic, partition), value = (offset, commit
//   time). The encoding is in docs/log_format.md ("Committed offsets").
// - The partition is created at the first commit, so a node that never
//   commits has no such folder. At Node::open an existing one is recovered
//   like any durable partition (a torn tail is cut) and read from its start:
//   the last record per key wins. The topic is compacted (CleanupPolicy::
//   compact, by the node's storage::LogCleanerThread): each closed segment keeps only
//   the newest commit per key, so committing the same partitions again and
//   again keeps the folder about one segment plus the live keys, and replay
//   reads that. Tombstones (null value) would delete a key; no call writes
//   one today.
// - The topic is not in the node's catalog or topic map: producers cannot
//   write to it and consumers cannot read it; it is not listed.
// - Thread roles: the group coordinator calls append() under its own mutex,
//   so appends are serialized; replay() runs once, before the node is shared.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "codec/batch_builder.hpp"
#include "rill/detail/wait_strategy.hpp"
#include "rill/topic.hpp"
#include "storage/log_cleaner_thread.hpp"
#include "storage/partition.hpp"

namespace rill::group {

inline constexpr std::string_view kOffsetsTopic = "__consumer_offsets";

// Names starting with "__" are reserved for internal topics: Node refuses
// to create or delete them.
[[nodiscard]] constexpr bool is_internal_name(std::string_view name) noexcept {
  return name.starts_with("__");
}

// Committed offsets: group -> partition -> next offset to read.
using CommittedOffsets = std::map<std::string, std::map<TopicPartition, std::int64_t>, std::less<>>;

// The record encodings (docs/log_format.md). decode_* return nullopt for
// bytes that are not a well-formed key / value of version 1.
struct OffsetKey {
  std::string group;
  TopicPartition partition;
};
struct OffsetValue {
  std::int64_t offset = 0;
  std::int64_t commit_timestamp_ms = 0;
};
[[nodiscard]] std::string encode_offset_key(std::string_view group, const TopicPartition& tp);
[[nodiscard]] std::string encode_offset_value(const OffsetValue& value);
[[nodiscard]] std::optional<OffsetKey> decode_offset_key(std::string_view bytes);
[[nodiscard]] std::optional<OffsetValue> decode_offset_value(std::string_view bytes);

class OffsetStore {
 public:
  // `node_dir`: the node's data directory. `data_signal` (not owned) is
  // notified after each append, as for any durable partition.
  // `cleaner` (may be null: no compaction) compacts the partition.
  OffsetStore(std::string node_dir, bool repair, detail::BlockingWait* data_signal,
              std::shared_ptr<storage::LogCleanerThread> cleaner = nullptr);
  ~OffsetStore();
  OffsetStore(const OffsetStore&) = delete;
  OffsetStore& operator=(const OffsetStore&) = delete;

  // Opens the partition if it exists and returns the last committed offset
  // per key. Throws Error(corrupt) at damage recovery could not cut, and
  // Error(io).
  [[nodiscard]] CommittedOffsets replay();
  // Appends the commit as one batch (creating the partition on first use).
  // Throws Error(io) when the append fails, Error(invalid_argument) when the
  // commit does not fit one batch.
  void append(std::string_view group, const std::map<TopicPartition, std::int64_t>& offsets,
              std::int64_t now_ms);

 private:
  void open_partition();

  const std::string node_dir_;
  const bool repair_;
  detail::BlockingWait* const data_signal_;
  std::shared_ptr<storage::LogCleanerThread> cleaner_;
  std::unique_ptr<storage::Partition> partition_;  // null until opened
  std::unique_ptr<codec::BatchBuilder> builder_;
};

}  // namespace rill::group
