// rill::Node: owns a set of topics and the consumer groups that read them.
//
// A Node is the entry point: create it, create topics on it, then build
// Producers and Consumers from it. `Node::in_memory()` makes a node whose
// topics live in memory only (StorageKind::memory) and vanish with it.
// `Node::open(dir)` makes a node on a data directory: it may hold durable
// topics (StorageKind::durable, segment files under `dir`) as well as memory
// topics, and finds its durable topics again when reopened.
//
// Ownership: a Node is a cheap handle (moveable, not copyable) to the
// broker that holds its topics and groups. Producers and Consumers built
// from it talk to the same broker and keep it alive, so they may outlive
// the Node object; a deleted topic stays readable by those that
// already hold it until they let go of it.
//
// Thread safety: every method may be called from any thread at any time.
// Topic administration takes a mutex; it is not meant for a hot path.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rill/group.hpp"
#include "rill/metrics.hpp"
#include "rill/options.hpp"
#include "rill/topic.hpp"

namespace rill {

namespace broker {
class Broker;  // what a Node is a handle to (internal: src/broker/broker.hpp)
}
class Node;
namespace detail {
// The broker `node` is a handle to, for rill's own parts (Producer,
// Consumer, servers); opaque outside the library.
[[nodiscard]] const std::shared_ptr<broker::Broker>& broker_of(const Node& node) noexcept;
}  // namespace detail

class Node {
 public:
  // A node whose topics are kept in memory. Allocates a little; never fails.
  [[nodiscard]] static Node in_memory();

  // A node on the data directory `dir` (created when missing, unless
  // options.create_if_missing is false). Locks the directory (flock on
  // "<dir>/.lock") for as long as the node's state lives, i.e. until this
  // Node and every Producer and Consumer built from it are destroyed; the
  // lock dies with its process, so a crashed owner never blocks a restart.
  // Reads the catalog ("<dir>/rill.catalog") and opens every durable topic
  // in it, recovering each partition (a torn tail is cut, see NodeOptions).
  // Throws Error(io) when the directory is locked by another node (the
  // message names the holder's pid) or an I/O call fails, Error(not_found)
  // for a missing directory without create_if_missing, Error(corrupt) for a
  // catalog that is not rill's, has another version or a bad checksum, or
  // for damage recovery must not repair. Memory topics are not kept in the
  // catalog: they start empty and are gone after a reopen.
  [[nodiscard]] static Node open(const std::filesystem::path& dir, const NodeOptions& options = {});

  Node(Node&&) noexcept = default;
  Node& operator=(Node&&) noexcept = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();

  // Creates topic `name` with `options`; allocates each partition's
  // capacity_bytes at once. Throws Error(invalid_argument) for a bad name
  // (1-249 of [a-zA-Z0-9._-], not "." or "..", not starting with "__",
  // which is reserved for internal topics) or a bad option (the message
  // names it and its limits), Error(already_exists) if the topic exists,
  // Error(unsupported) for StorageKind::durable on an in-memory node. A
  // durable topic gets one folder per partition, "<dir>/<name>-<partition>",
  // each with its first segment preallocated (segment_bytes on disk), and
  // is recorded in the catalog before this returns (Error(io) if that fails).
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
  // A durable topic is removed from the catalog and its folders are deleted;
  // its partitions refuse further appends, while readers that hold it keep
  // reading what was mapped. Error(invalid_argument) for a name starting
  // with "__" (internal topics such as "__consumer_offsets" are not the
  // user's to delete).
  void delete_topic(std::string_view name);

  // Consumer groups. A group exists while it has
  // committed offsets (kept across reopens on a directory) or live members
  // in this node (subscribed Consumers that have polled within their
  // session timeout; silent members are removed first).

  // The ids of all groups, sorted.
  [[nodiscard]] std::vector<std::string> list_groups() const;

  // The group's live members with their assignments and, per partition it
  // committed or is assigned, the committed offset, end offset and lag.
  // Throws Error(invalid_argument) for a bad group id, Error(not_found) for
  // a group that does not exist.
  [[nodiscard]] GroupDescription describe_group(std::string_view group) const;

  // Moves the group's committed offsets to the start (OffsetReset::earliest)
  // or the end (latest) of each partition's retained window, as one commit
  // (stored durably on a node opened on a directory), and returns them. With
  // an empty `topic`: every partition the group committed, of topics that
  // still exist; else every partition of `topic`. Throws
  // Error(invalid_argument) for a bad group id or topic name, or while the
  // group has live members (they would overwrite the reset with their next
  // commit: close them first); Error(not_found) for an unknown group or
  // topic; Error(io) when storing fails (then nothing changed).
  std::map<TopicPartition, std::int64_t> reset_group_offsets(std::string_view group, std::string_view topic,
                                                             OffsetReset to);

  // A snapshot of the counters of every topic and partition, and of every
  // live Producer and Consumer built from this node (see metrics.hpp;
  // to_prometheus renders it as text). Lock-free reads of relaxed counters;
  // briefly takes the catalog mutex, and each producer's topic list and each
  // consumer's assignment list. Allocates. Any thread, including a
  // SendCallback or a RebalanceListener.
  [[nodiscard]] NodeMetrics metrics() const;

  // The data directory of a node made by open(); empty for an in-memory node.
  [[nodiscard]] std::filesystem::path directory() const;

 private:
  friend const std::shared_ptr<broker::Broker>& detail::broker_of(const Node& node) noexcept;
  explicit Node(std::shared_ptr<broker::Broker> broker) noexcept;
  std::shared_ptr<broker::Broker> broker_;
};

}  // namespace rill
