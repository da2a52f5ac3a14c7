// Topic-level value types: TopicPartition (a partition's name), and what
// Node::describe_topic returns. All are plain values, cheap to copy, with no
// link to the node once returned.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rill/options.hpp"

namespace rill {

// One partition of one topic: the unit that consumers are assigned and that
// offsets are committed for. Ordered by topic, then partition.
struct TopicPartition {
  std::string topic{};
  std::int32_t partition = 0;

  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// A partition's retained window at the moment of the call: offsets
// [start_offset, end_offset) can be read; end_offset is the offset the next
// appended record gets. An empty partition has start_offset == end_offset.
struct PartitionInfo {
  std::int32_t partition = 0;
  std::int64_t start_offset = 0;
  std::int64_t end_offset = 0;
  std::size_t retained_bytes = 0;  // bytes of batches between the two offsets
};

// A topic's options and the state of each of its partitions.
struct TopicDescription {
  std::string name;
  TopicOptions options;  // as given to create_topic (partitions, capacity_bytes, full_policy ...)
  std::vector<PartitionInfo> partitions;  // index i describes partition i
};

}  // namespace rill

template <>
struct std::hash<rill::TopicPartition> {
  std::size_t operator()(const rill::TopicPartition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31u + static_cast<std::size_t>(tp.partition);
  }
};
