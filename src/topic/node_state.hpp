// NodeState: what a Node, its Producers and its Consumers share: the topic
// catalog, the consumers' wake-up signal and the group coordinator.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "rill/detail/wait_strategy.hpp"
#include "topic/group_coordinator.hpp"
#include "topic/topic_state.hpp"

namespace rill::detail {

struct NodeState {
  NodeState();

  // The topic named `name`, or null. Takes the catalog mutex.
  [[nodiscard]] std::shared_ptr<topic::TopicState> find_topic(std::string_view name) const;
  // The topic, or throws Error(not_found) naming it.
  [[nodiscard]] std::shared_ptr<topic::TopicState> topic_or_throw(std::string_view name) const;

  mutable std::mutex catalog_mutex;
  std::map<std::string, std::shared_ptr<topic::TopicState>, std::less<>> topics;

  // Consumers sleeping in poll() wait here; every append and every group
  // change notifies it (a system call only when someone sleeps).
  BlockingWait data_signal;
  topic::GroupCoordinator groups;
};

}  // namespace rill::detail
