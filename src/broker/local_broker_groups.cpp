// LocalBroker's group calls (join, sync, leave, commit, offset fetch) over
// the coordinator, and the group administration (list_groups,
// describe_group, reset_group_offsets) over its administration calls
// (group_coordinator_admin.cpp) and the topics' retained windows.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "rill/error.hpp"
#include "base/names.hpp"
#include "broker/local_broker.hpp"

namespace rill::broker {
namespace {

// The gate every member of `group` reads a partition under.
std::string group_gate_name(std::string_view group) { return fmt::format("group:{}", group); }

// The partition's retained window, or nullopt when the topic or the
// partition no longer exists.
std::optional<PartitionInfo> window_of(const LocalBroker& state, const TopicPartition& tp) {
  const std::shared_ptr<storage::TopicState> t = state.find_topic(tp.topic);
  if (!t || tp.partition < 0 || tp.partition >= t->partition_count()) return std::nullopt;
  return t->partitions[static_cast<std::size_t>(tp.partition)]->info();
}

GroupPartitionDescription describe_partition(const LocalBroker& state, const TopicPartition& tp,
                                             std::optional<std::int64_t> committed) {
  GroupPartitionDescription d{tp, committed, std::nullopt, std::nullopt};
  if (const std::optional<PartitionInfo> window = window_of(state, tp)) {
    d.end_offset = window->end_offset;
    if (committed) d.lag = std::max<std::int64_t>(0, window->end_offset - *committed);
  }
  return d;
}

[[noreturn]] void unknown_group(std::string_view group) {
  throw Error(ErrorCode::not_found,
              fmt::format("consumer group \"{}\" does not exist (it has no committed offsets and no live "
                          "members)",
                          group));
}

// What reset_group_offsets stores: the partitions to move, each at its
// start or end offset now.
std::map<TopicPartition, std::int64_t> plan_reset(const LocalBroker& state, std::string_view topic,
                                                  OffsetReset to,
                                                  const std::map<TopicPartition, std::int64_t>& committed) {
  std::vector<TopicPartition> partitions;
  if (topic.empty()) {
    for (const auto& [tp, offset] : committed) partitions.push_back(tp);
  } else {
    const std::shared_ptr<storage::TopicState> t = state.topic_or_throw(topic);
    for (std::int32_t p = 0; p < t->partition_count(); ++p) partitions.push_back({t->name, p});
  }
  std::map<TopicPartition, std::int64_t> offsets;
  for (const TopicPartition& tp : partitions) {
    if (const std::optional<PartitionInfo> window = window_of(state, tp)) {
      offsets[tp] = to == OffsetReset::earliest ? window->start_offset : window->end_offset;
    }  // else: a deleted topic's offsets stay as they are
  }
  return offsets;
}

}  // namespace

JoinGroupResponse LocalBroker::join_group(const JoinGroupRequest& request) {
  JoinGroupResponse r;
  r.member_id = groups.join(request.group, {request.topics, request.strategy, request.session_timeout});
  r.generation = group_generation();
  prune_parked(request.group);
  return r;
}

SyncGroupResponse LocalBroker::sync_group(const std::string& group, const std::string& member_id) {
  const std::int64_t generation = group_generation();
  group::SyncResult r = groups.sync(group, member_id);
  prune_parked(group);
  return SyncGroupResponse{r.member_alive, generation, std::move(r.target)};
}

std::int64_t LocalBroker::group_generation() const noexcept { return static_cast<std::int64_t>(groups.epoch()); }

void LocalBroker::leave_group(const std::string& group, const std::string& member_id) {
  groups.leave(group, member_id);
  prune_parked(group);
}

std::vector<OwnedPartition> LocalBroker::hand_over(const std::string& group, const std::string& member_id,
                                                   const std::vector<TopicPartition>& released,
                                                   const std::vector<TopicPartition>& wanted, OffsetReset reset) {
  const std::string gate_name = group_gate_name(group);
  // Hold the group's gate on each released partition at its committed
  // offset before the member lets go of its own holding (it drops its gate
  // after this returns), so nothing uncommitted is dropped in between.
  for (const TopicPartition& tp : released) {
    const auto topic = resolve(tp.topic);
    if (!topic || tp.partition >= topic->partition_count()) continue;  // deleted meanwhile
    const std::optional<std::int64_t> committed = groups.committed(group, tp);
    std::unique_ptr<ReadGate> gate =
        open_gate(*topic, tp.partition, gate_name, committed ? *committed : high_watermark(*topic, tp.partition));
    if (committed) (void)gate->move_back(*committed);
    std::lock_guard lock(parked_mutex_);
    parked_gates_[{group, tp}] = std::move(gate);
  }
  std::vector<group::Acquired> taken = groups.exchange(group, member_id, released, wanted);
  std::vector<OwnedPartition> out;
  for (group::Acquired& a : taken) {
    const auto topic = resolve(a.partition.topic);
    if (!topic || a.partition.partition >= topic->partition_count()) continue;  // deleted meanwhile
    OwnedPartition owned;
    owned.partition = a.partition;
    owned.committed = a.committed;
    owned.start = a.committed ? *a.committed
                              : list_offset(*topic, a.partition.partition,
                                            {reset == OffsetReset::earliest ? OffsetSpec::Kind::earliest
                                                                            : OffsetSpec::Kind::latest});
    // Opened while the parked holding (if any) still keeps the records.
    owned.gate = open_gate(*topic, a.partition.partition, gate_name, owned.start);
    owned.start = owned.gate->move_back(owned.start);
    owned.topic = topic;
    out.push_back(std::move(owned));
  }
  prune_parked(group);
  return out;
}

void LocalBroker::prune_parked(const std::string& group) {
  const std::set<TopicPartition> parked = groups.parked(group);
  std::vector<std::unique_ptr<ReadGate>> dropped;  // released outside the mutex
  std::lock_guard lock(parked_mutex_);
  for (auto it = parked_gates_.lower_bound({group, TopicPartition{}}); it != parked_gates_.end() && it->first.first == group;) {
    if (parked.contains(it->first.second)) {
      ++it;
      continue;
    }
    dropped.push_back(std::move(it->second));
    it = parked_gates_.erase(it);
  }
}

void LocalBroker::commit_offsets(const std::string& group, const std::string& member_id,
                                 const std::map<TopicPartition, std::int64_t>& offsets) {
  groups.commit(group, member_id, offsets);
}

std::optional<std::int64_t> LocalBroker::fetch_offset(const std::string& group, const TopicPartition& tp) const {
  return groups.committed(group, tp);
}

std::vector<std::string> LocalBroker::list_groups() { return groups.group_ids(); }

GroupDescription LocalBroker::describe_group(std::string_view group) {
  base::validate_group_id(group);
  const std::optional<group::GroupSnapshot> snapshot = groups.snapshot(group);
  if (!snapshot) unknown_group(group);
  GroupDescription d{std::string(group), {}, {}};
  std::set<TopicPartition> partitions;
  for (const auto& [tp, offset] : snapshot->committed) partitions.insert(tp);
  for (const group::GroupSnapshot::Member& m : snapshot->members) {
    d.members.push_back({m.id, m.topics, m.target});
    partitions.insert(m.target.begin(), m.target.end());
  }
  for (const TopicPartition& tp : partitions) {
    const auto c = snapshot->committed.find(tp);
    d.partitions.push_back(describe_partition(
        *this, tp, c == snapshot->committed.end() ? std::nullopt : std::optional<std::int64_t>(c->second)));
  }
  return d;
}

std::map<TopicPartition, std::int64_t> LocalBroker::reset_group_offsets(std::string_view group, std::string_view topic,
                                                                 OffsetReset to) {
  base::validate_group_id(group);
  if (!topic.empty()) base::validate_topic_name(topic);
  const LocalBroker& state = *this;
  // Unknown group: Error(not_found) from the coordinator, with the message of unknown_group().
  return groups.reset_offsets(group, [&](const std::map<TopicPartition, std::int64_t>& committed) {
    return plan_reset(state, topic, to, committed);
  });
}

}  // namespace rill::broker
