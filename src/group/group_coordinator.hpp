// GroupCoordinator: the in-process consumer-group coordinator of a node.
//
// Design
// - Each group has members (one per subscribed Consumer), an ownership map
//   (partition -> member that reads it now) and committed offsets. Groups are
//   kept after their last member leaves, so committed offsets survive.
// - A rebalance (a member joins or leaves or is removed for silence, or a
//   topic is created or deleted) recomputes every member's *target* with the
//   group's strategy (range, round_robin, or cooperative_sticky, which keeps
//   each member's previous partitions up to its fair share). It moves
//   nothing by itself.
// - Ownership moves incrementally (cooperative): at its next poll a member
//   syncs, revokes what it owns but is no longer its target (its listener
//   runs, then it releases them), and takes each target partition that has
//   no owner. A partition still owned by its previous member is taken at a
//   later poll, after that member released it or was removed. So after the
//   rebalance completes no partition has two readers in one group.
// - Everything here is data: ids, targets, owners, committed offsets and
//   the set of parked partitions (released, not yet taken). The broker
//   keeps the group's gate on a parked partition at its committed offset
//   until its next owner takes it over: under FullPolicy::block / fail,
//   records the group has not committed are never dropped during a
//   hand-over. A partition no member targets any more (or of a group
//   without members) is no longer parked, and its gate goes.
// - A member that has not synced for its session timeout is removed by any
//   other member's sync (or its own join); its partitions become free. Its
//   own next sync reports it gone, and it drops everything before reading.
// - `epoch` changes whenever targets or ownership change; sleeping consumers
//   are woken so they sync without waiting out their poll timeout.
// - On a node opened on a directory, commits are also appended to the
//   internal durable topic `__consumer_offsets` (offset_store.hpp) before the
//   in-memory offsets change, under the mutex, so the log's order is the
//   commit order; at open the node replays it into the coordinator. An
//   in-memory node has no store and keeps offsets in memory only.
// - All state is behind one mutex: this is not a hot path (a member syncs at
//   most a few times per session timeout, or when the epoch moves).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rill/detail/wait_strategy.hpp"
#include "rill/options.hpp"
#include "rill/topic.hpp"
#include "group/offset_store.hpp"

namespace rill::group {

struct MemberConfig {
  std::vector<std::string> topics;
  AssignmentStrategy strategy = AssignmentStrategy::range;
  std::chrono::milliseconds session_timeout{10'000};
};

struct SyncResult {
  bool member_alive = true;               // false: removed (timed out); rejoin
  std::vector<TopicPartition> target;     // sorted
};

// A partition a member takes, and the group's committed offset for it.
struct Acquired {
  TopicPartition partition;
  std::optional<std::int64_t> committed;
};

// A group as administration sees it (group_coordinator_admin.cpp).
struct GroupSnapshot {
  struct Member {
    std::string id;
    std::vector<std::string> topics;
    std::vector<TopicPartition> target;  // sorted
  };
  std::vector<Member> members;  // sorted by id
  std::map<TopicPartition, std::int64_t> committed;
};

// For reset_offsets: the offsets to store, given what the group committed.
using ResetPlan = std::function<std::map<TopicPartition, std::int64_t>(
    const std::map<TopicPartition, std::int64_t>& committed)>;

class GroupCoordinator {
 public:
  // `partition_count(topic)`: the topic's partition count, 0 if absent.
  // `wake` is notified when the epoch moves (not owned).
  GroupCoordinator(std::function<std::int32_t(const std::string&)> partition_count,
                   detail::BlockingWait* wake);

  // Adds a member; returns its id ("<group>-000001", ...).
  [[nodiscard]] std::string join(const std::string& group, MemberConfig config);
  // Removes a member and frees its partitions. Unknown members are ignored.
  void leave(const std::string& group, const std::string& member);
  // Heartbeat: removes silent members, rebalances if needed, returns the
  // member's target.
  [[nodiscard]] SyncResult sync(const std::string& group, const std::string& member);
  // Frees `released` (owned by `member`), parking them, and takes those of
  // `wanted` that are in the member's target and free. Returns what was
  // taken.
  [[nodiscard]] std::vector<Acquired> exchange(const std::string& group, const std::string& member,
                                               const std::vector<TopicPartition>& released,
                                               const std::vector<TopicPartition>& wanted);
  // The group's parked partitions: released, targeted by some member, not
  // taken yet. Their group gates stay at the committed offset meanwhile.
  [[nodiscard]] std::set<TopicPartition> parked(const std::string& group) const;

  // Makes commits durable through `store` and restores `restored` (what the
  // store replayed). Called once, before the node is shared.
  void attach_store(std::unique_ptr<OffsetStore> store, CommittedOffsets restored);

  // Stores offsets for the group. With a non-empty `member` (a subscribed
  // consumer), the member must be live and own every partition in
  // `offsets`, else Error(commit_failed) naming why and nothing is stored
  // (a member removed for silence cannot move its old partitions' offsets
  // back). With a store attached they are appended to it first, as one
  // batch; when that fails nothing is stored and Error(io) is thrown.
  void commit(const std::string& group, const std::string& member,
              const std::map<TopicPartition, std::int64_t>& offsets);
  [[nodiscard]] std::optional<std::int64_t> committed(const std::string& group,
                                                      const TopicPartition& tp) const;

  // Administration (group_coordinator_admin.cpp). Each first removes the
  // group's members that have been silent for their session timeout, so
  // "members" means live ones. group_ids(): the groups that have committed
  // offsets or members, sorted. snapshot(): nullopt for any other group.
  [[nodiscard]] std::vector<std::string> group_ids();
  [[nodiscard]] std::optional<GroupSnapshot> snapshot(std::string_view group);
  // Under the mutex, so that no member can join meanwhile: throws
  // Error(not_found) for a group snapshot() would not show and
  // Error(invalid_argument) while the group has members; otherwise stores
  // what `plan` returns as one commit (through the store, as commit() does)
  // and returns it.
  std::map<TopicPartition, std::int64_t> reset_offsets(std::string_view group, const ResetPlan& plan);

  // A topic was created or deleted: every group rebalances at its next sync.
  void topics_changed() noexcept;
  // Changes whenever some target or ownership changed.
  [[nodiscard]] std::uint64_t epoch() const noexcept;

 private:
  using Clock = std::chrono::steady_clock;
  struct Member {
    MemberConfig config;
    Clock::time_point last_seen;
    std::vector<TopicPartition> target;
  };
  struct Group {
    std::map<std::string, Member> members;  // sorted by id: the assignment order
    std::map<TopicPartition, std::string> owners;
    std::map<TopicPartition, std::int64_t> committed;
    std::set<TopicPartition> parked;
    std::uint64_t topics_version_seen = 0;
    std::uint64_t next_member = 0;
    bool dirty = true;
  };

  void expire_silent(Group& group, Clock::time_point now);
  void remove_member(Group& group, const std::string& member);
  void rebalance(Group& group);
  void assign_range(Group& group, const std::map<std::string, std::int32_t>& counts);
  void assign_round_robin(Group& group, const std::map<std::string, std::int32_t>& counts);
  void assign_sticky(Group& group, const std::map<std::string, std::int32_t>& counts,
                     const std::map<std::string, std::vector<TopicPartition>>& before);
  void bump_epoch() noexcept;
  void drop_stale_parked(Group& group);

  std::function<std::int32_t(const std::string&)> partition_count_;
  detail::BlockingWait* const wake_;
  mutable std::mutex mutex_;
  std::map<std::string, Group, std::less<>> groups_;
  std::unique_ptr<OffsetStore> store_;  // null on an in-memory node
  // Bumped by topics_changed() (relaxed: groups compare it under mutex_).
  std::atomic<std::uint64_t> topics_version_{1};
  // Bumped under mutex_ (release), read by sleeping consumers (acquire).
  std::atomic<std::uint64_t> epoch_{0};
};

}  // namespace rill::group
