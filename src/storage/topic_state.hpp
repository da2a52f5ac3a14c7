// TopicState: one topic of a node, shared by the node's catalog and by the
// producers and consumers that use it (a deleted topic lives on until the
// last of them lets go).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "rill/options.hpp"
#include "storage/partition.hpp"

namespace rill::storage {

struct TopicState {
  std::string name;
  TopicOptions options;
  std::vector<std::unique_ptr<Partition>> partitions;  // fixed at creation
  // Set by delete_topic (relaxed store: a flag checked by producers on each
  // send; a send racing with the delete may still land, as in Kafka).
  std::atomic<bool> deleted{false};

  [[nodiscard]] std::int32_t partition_count() const noexcept {
    return static_cast<std::int32_t>(partitions.size());
  }
};

}  // namespace rill::storage
