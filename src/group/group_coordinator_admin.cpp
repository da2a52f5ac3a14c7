// GroupCoordinator: the administration side (listing, describing, resetting
// committed offsets), used by Node::list_groups, describe_group and
// reset_group_offsets (group_admin.cpp). Same mutex as the rest of the
// coordinator; none of this is on a hot path.
#include <fmt/format.h>

#include <chrono>

#include "base/clock.hpp"
#include "rill/error.hpp"
#include "group/group_coordinator.hpp"

namespace rill::group {
namespace {

bool is_listed(const auto& group) noexcept { return !group.members.empty() || !group.committed.empty(); }

std::string member_list(const auto& members) {
  std::string ids;
  for (const auto& [id, m] : members) ids += fmt::format("{}{}", ids.empty() ? "" : ", ", id);
  return ids;
}

}  // namespace

std::vector<std::string> GroupCoordinator::group_ids() {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  std::vector<std::string> ids;
  for (auto& [id, group] : groups_) {
    expire_silent(group, now);
    if (is_listed(group)) ids.push_back(id);
  }
  return ids;  // sorted: groups_ is an ordered map
}

std::optional<GroupSnapshot> GroupCoordinator::snapshot(std::string_view group_id) {
  std::lock_guard lock(mutex_);
  const auto it = groups_.find(group_id);
  if (it == groups_.end()) return std::nullopt;
  Group& group = it->second;
  expire_silent(group, Clock::now());
  if (!is_listed(group)) return std::nullopt;
  GroupSnapshot out;
  out.committed = group.committed;
  for (const auto& [id, m] : group.members) out.members.push_back({id, m.config.topics, m.target});
  return out;
}

std::map<TopicPartition, std::int64_t> GroupCoordinator::reset_offsets(std::string_view group_id,
                                                                      const ResetPlan& plan) {
  std::lock_guard lock(mutex_);
  const auto it = groups_.find(group_id);
  if (it != groups_.end()) expire_silent(it->second, Clock::now());
  if (it == groups_.end() || !is_listed(it->second)) {
    throw Error(ErrorCode::not_found,
                fmt::format("consumer group \"{}\" does not exist (it has no committed offsets and no live members)",
                            group_id));
  }
  Group& group = it->second;
  if (!group.members.empty()) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("consumer group \"{}\" has {} live member(s) ({}): close its consumers before "
                            "resetting its offsets, as they would overwrite them with their next commit",
                            group_id, group.members.size(), member_list(group.members)));
  }
  std::map<TopicPartition, std::int64_t> offsets = plan(group.committed);
  if (store_ && !offsets.empty()) {
    const std::int64_t now_ms = base::wall_clock_ms();
    store_->append(it->first, offsets, now_ms);  // first: nothing changes if it throws
  }
  for (const auto& [tp, offset] : offsets) group.committed[tp] = offset;
  return offsets;
}

}  // namespace rill::group
