// rill::Node: owns a set of topics and the consumer groups that read them.
//
// A Node is the entry point: create it, create topics on it, then build
// Producers and Consumers from it. `Node::in_memory()` makes a node whose
// topics live in memory only (StorageKind::memory) and vanish with it.
//
// Ownership: a Node is a cheap handle (moveable, not copyable) to shared
// state. Producers and Consumers built from it keep that state alive, so they
// may outlive the Node object; a deleted topic stays readable by those that
// already hold it until they let go of it.
//
// Thread safety: every method may be called from any thread at any time.
// Topic administration takes a mutex; it is not meant for a hot path.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rill/options.hpp"
#include "rill/topic.hpp"

namespace rill {

namespace detail {
struct NodeState;  // shared by the node, its producers and consumers
}

class Node {
 public:
  // A node whose topics are kept in memory. Allocates a little; never fails.
  [[nodiscard]] static Node in_memory();

  Node(Node&&) noexcept = default;
  Node& operator=(Node&&) noexcept = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();

  // Creates topic `name` with `options`; allocates each partition's
  // capacity_bytes at once. Throws Error(invalid_argument) for a bad name
  // (1-249 of [a-zA-Z0-9._-], not "." or "..") or a bad option (the message
  // names it and its limits), Error(already_exists) if the topic exists,
  // Error(unsupported) for StorageKind::durable on an in-memory node.
  void create_topic(std::string_view name, const TopicOptions& options = {});

  // True if topic `name` exists. Never throws.
  [[nodiscard]] bool has_topic(std::string_view name) const noexcept;

  // The names of all topics, sorted.
  [[nodiscard]] std::vector<std::string> list_topics() const;

  // The topic's options and each partition's retained window (a snapshot).
  // Throws Error(not_found) for an unknown topic.
  [[nodiscard]] TopicDescription describe_topic(std::string_view name) const;

  // Removes topic `name`: new sends to it fail with Error(not_found), groups
  // subscribed to it rebalance. Producers and consumers that hold it keep
  // its memory alive until they drop it. Throws Error(not_found) if absent.
  void delete_topic(std::string_view name);

  // The shared state, for Producer and Consumer.
  [[nodiscard]] const std::shared_ptr<detail::NodeState>& state() const noexcept { return state_; }

 private:
  explicit Node(std::shared_ptr<detail::NodeState> state) noexcept;
  std::shared_ptr<detail::NodeState> state_;
};

}  // namespace rill
