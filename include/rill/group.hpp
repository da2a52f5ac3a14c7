// Consumer-group value types: what Node::describe_group returns. Plain
// values, cheap to copy, with no link to the node once returned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rill/topic.hpp"

namespace rill {

// A live member of a group: a subscribed Consumer of this node that has
// not been silent for its session timeout. Consumers that only assign()
// partitions (and commit with a group) are not members.
struct GroupMemberDescription {
  std::string id;                          // "<group>-000001", ...
  std::vector<std::string> topics;         // what it subscribed to
  std::vector<TopicPartition> assignment;  // its partitions in the group's current assignment, sorted
};

// One partition the group committed or is assigned. A snapshot: the end
// offset moves as records are appended.
struct GroupPartitionDescription {
  TopicPartition partition;
  // The next offset the group reads; none when a member is assigned the
  // partition but the group never committed it.
  std::optional<std::int64_t> committed;
  // The partition's end offset (the offset of the next record appended);
  // none when the topic or the partition no longer exists.
  std::optional<std::int64_t> end_offset;
  // Records between the committed offset and the end (end_offset -
  // committed, 0 when committed is past the end); none without both.
  std::optional<std::int64_t> lag;
};

// A consumer group as this node sees it.
struct GroupDescription {
  std::string group;
  std::vector<GroupMemberDescription> members;       // sorted by id; empty for an inactive group
  std::vector<GroupPartitionDescription> partitions;  // sorted by topic, then partition
};

}  // namespace rill
