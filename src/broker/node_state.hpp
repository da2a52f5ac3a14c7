// NodeState: what a Node, its Producers and its Consumers share: the topic
// catalog, the consumers' wake-up signal and the group coordinator; for a
// node opened on a directory, the directory, its lock and its options.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "rill/detail/wait_strategy.hpp"
#include "rill/options.hpp"
#include "broker/client_registry.hpp"
#include "broker/directory_lock.hpp"
#include "group/group_coordinator.hpp"
#include "storage/log_cleaner_thread.hpp"
#include "storage/sync_timer.hpp"
#include "storage/topic_state.hpp"

namespace rill::detail {

// The data directory of a node made by Node::open.
struct NodeDirectory {
  std::string path;
  NodeOptions options;
  std::unique_ptr<broker::DirectoryLock> lock;  // held while the state lives
  // Syncs FsyncPolicy::interval partitions that went idle (sync_timer.hpp);
  // shared with those partitions, which may outlive the node state.
  std::shared_ptr<storage::SyncTimer> sync_timer = std::make_shared<storage::SyncTimer>();
  // Compacts CleanupPolicy::compact partitions and __consumer_offsets
  // (log_cleaner_thread.hpp); its thread starts with the first of them.
  std::shared_ptr<storage::LogCleanerThread> log_cleaner = std::make_shared<storage::LogCleanerThread>();
};

struct NodeState {
  NodeState();

  // Null for an in-memory node. Declared first so that it is destroyed
  // last: every durable partition is closed before the lock is released.
  std::unique_ptr<NodeDirectory> directory;
  // Serializes create_topic and delete_topic (and so the catalog file):
  // a durable topic's folders and catalog line change together. Never taken
  // by producers or consumers.
  std::mutex admin_mutex;

  // The topic named `name`, or null. Takes the catalog mutex.
  [[nodiscard]] std::shared_ptr<storage::TopicState> find_topic(std::string_view name) const;
  // The topic, or throws Error(not_found) naming it.
  [[nodiscard]] std::shared_ptr<storage::TopicState> topic_or_throw(std::string_view name) const;

  mutable std::mutex catalog_mutex;
  std::map<std::string, std::shared_ptr<storage::TopicState>, std::less<>> topics;

  // Consumers sleeping in poll() wait here; every append and every group
  // change notifies it (a system call only when someone sleeps).
  BlockingWait data_signal;
  group::GroupCoordinator groups;
  // The live producers and consumers, for Node::metrics().
  broker::ClientRegistry clients;
  // The idempotence ids of the live idempotent producers: at most one
  // Producer per id (client/idempotence.hpp). Guarded by the mutex.
  std::mutex idempotence_ids_mutex;
  std::set<std::string, std::less<>> idempotence_ids;
};

}  // namespace rill::detail
