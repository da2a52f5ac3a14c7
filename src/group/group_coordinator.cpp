#include "group/group_coordinator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/clock.hpp"

namespace rill::group {

GroupCoordinator::GroupCoordinator(std::function<std::int32_t(const std::string&)> partition_count,
                                   detail::BlockingWait* wake)
    : partition_count_(std::move(partition_count)), wake_(wake) {}

void GroupCoordinator::bump_epoch() noexcept {
  // release: pairs with the acquire load in epoch(); a consumer that sees
  // the new epoch syncs and then reads the new state under mutex_ anyway.
  epoch_.fetch_add(1, std::memory_order_release);
  if (wake_ != nullptr) wake_->notify();
}

std::uint64_t GroupCoordinator::epoch() const noexcept {
  return epoch_.load(std::memory_order_acquire);  // pairs with bump_epoch()
}

void GroupCoordinator::topics_changed() noexcept {
  // relaxed: compared under mutex_ at the next sync; the wake-up below makes
  // sleeping members sync soon.
  topics_version_.fetch_add(1, std::memory_order_relaxed);
  bump_epoch();
}

std::string GroupCoordinator::join(const std::string& group_id, MemberConfig config) {
  std::lock_guard lock(mutex_);
  Group& group = groups_[group_id];
  std::string id = fmt::format("{}-{:06}", group_id, ++group.next_member);
  expire_silent(group, Clock::now());
  group.members.emplace(id, Member{std::move(config), Clock::now(), {}});
  group.dirty = true;
  bump_epoch();
  return id;
}

void GroupCoordinator::remove_member(Group& group, const std::string& member) {
  group.members.erase(member);
  std::erase_if(group.owners, [&](const auto& entry) { return entry.second == member; });
  if (group.members.empty()) group.parked.clear();  // nobody left to hand them to
  group.dirty = true;
}

void GroupCoordinator::leave(const std::string& group_id, const std::string& member) {
  std::lock_guard lock(mutex_);
  const auto it = groups_.find(group_id);
  if (it == groups_.end() || !it->second.members.contains(member)) return;
  remove_member(it->second, member);
  bump_epoch();
}

void GroupCoordinator::expire_silent(Group& group, Clock::time_point now) {
  std::vector<std::string> silent;
  for (const auto& [id, m] : group.members) {
    if (now - m.last_seen > m.config.session_timeout) silent.push_back(id);
  }
  for (const std::string& id : silent) remove_member(group, id);
  if (!silent.empty()) bump_epoch();
}

SyncResult GroupCoordinator::sync(const std::string& group_id, const std::string& member) {
  std::lock_guard lock(mutex_);
  Group& group = groups_[group_id];
  const auto now = Clock::now();
  if (const auto it = group.members.find(member); it != group.members.end()) it->second.last_seen = now;
  expire_silent(group, now);
  const auto it = group.members.find(member);
  if (it == group.members.end()) return SyncResult{false, {}};
  // relaxed: a counter compared under mutex_; see topics_changed().
  const std::uint64_t version = topics_version_.load(std::memory_order_relaxed);
  if (group.dirty || group.topics_version_seen != version) {
    group.topics_version_seen = version;
    rebalance(group);
  }
  return SyncResult{true, it->second.target};
}

void GroupCoordinator::rebalance(Group& group) {
  std::map<std::string, std::int32_t> counts;
  for (const auto& [id, m] : group.members) {
    for (const std::string& t : m.config.topics) {
      if (!counts.contains(t)) counts[t] = partition_count_(t);
    }
  }
  std::map<std::string, std::vector<TopicPartition>> before;
  for (auto& [id, m] : group.members) {
    before[id] = std::move(m.target);
    m.target.clear();
  }
  if (!group.members.empty()) {
    switch (group.members.begin()->second.config.strategy) {
      case AssignmentStrategy::range: assign_range(group, counts); break;
      case AssignmentStrategy::round_robin: assign_round_robin(group, counts); break;
      case AssignmentStrategy::cooperative_sticky: assign_sticky(group, counts, before); break;
    }
  }
  // A partition of a deleted topic is owned by nobody any more.
  std::erase_if(group.owners, [&](const auto& entry) {
    const auto c = counts.find(entry.first.topic);
    return c == counts.end() || entry.first.partition >= c->second;
  });
  group.dirty = false;
  bool changed = false;
  for (auto& [id, m] : group.members) {
    std::sort(m.target.begin(), m.target.end());
    changed = changed || m.target != before[id];
  }
  drop_stale_parked(group);
  if (changed) bump_epoch();
}

void GroupCoordinator::assign_range(Group& group, const std::map<std::string, std::int32_t>& counts) {
  for (const auto& [topic, count] : counts) {
    std::vector<Member*> subscribed;
    for (auto& [id, m] : group.members) {
      const auto& topics = m.config.topics;
      if (std::find(topics.begin(), topics.end(), topic) != topics.end()) subscribed.push_back(&m);
    }
    if (subscribed.empty() || count <= 0) continue;
    const auto n = static_cast<std::size_t>(count);
    const std::size_t per = n / subscribed.size();
    const std::size_t extra = n % subscribed.size();
    std::int32_t next = 0;
    for (std::size_t i = 0; i < subscribed.size(); ++i) {
      const std::size_t take = per + (i < extra ? 1 : 0);
      for (std::size_t k = 0; k < take; ++k) subscribed[i]->target.push_back({topic, next++});
    }
  }
}

void GroupCoordinator::assign_round_robin(Group& group,
                                          const std::map<std::string, std::int32_t>& counts) {
  std::vector<Member*> members;
  for (auto& [id, m] : group.members) members.push_back(&m);
  std::size_t turn = 0;
  for (const auto& [topic, count] : counts) {
    for (std::int32_t p = 0; p < count; ++p) {
      // The next member in turn that subscribes to this topic.
      for (std::size_t tried = 0; tried < members.size(); ++tried) {
        Member* m = members[(turn + tried) % members.size()];
        const auto& topics = m->config.topics;
        if (std::find(topics.begin(), topics.end(), topic) != topics.end()) {
          m->target.push_back({topic, p});
          turn = (turn + tried + 1) % members.size();
          break;
        }
      }
    }
  }
}

namespace {

bool subscribes(const std::vector<std::string>& topics, const std::string& topic) {
  return std::find(topics.begin(), topics.end(), topic) != topics.end();
}

}  // namespace

void GroupCoordinator::assign_sticky(Group& group, const std::map<std::string, std::int32_t>& counts,
                                     const std::map<std::string, std::vector<TopicPartition>>& before) {
  std::set<TopicPartition> free;
  for (const auto& [topic, count] : counts) {
    for (std::int32_t p = 0; p < count; ++p) free.insert({topic, p});
  }
  const std::size_t per = free.size() / group.members.size();
  std::size_t extra = free.size() % group.members.size();
  // Members that had the most keep first, so the +1 shares go to them.
  std::vector<std::pair<std::string, Member*>> order;
  for (auto& [id, m] : group.members) order.emplace_back(id, &m);
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    return before.at(a.first).size() > before.at(b.first).size();
  });
  for (auto& [id, m] : order) {
    std::size_t share = per + (extra > 0 ? 1 : 0);
    for (const TopicPartition& tp : before.at(id)) {
      if (m->target.size() == share) break;
      if (free.contains(tp) && subscribes(m->config.topics, tp.topic)) {
        m->target.push_back(tp);
        free.erase(tp);
      }
    }
    if (m->target.size() == per + 1 && extra > 0) --extra;
  }
  // The rest go, in order, to the subscribed member holding the fewest.
  for (const TopicPartition& tp : free) {
    Member* best = nullptr;
    for (auto& [id, m] : group.members) {
      if (subscribes(m.config.topics, tp.topic) && (best == nullptr || m.target.size() < best->target.size())) {
        best = &m;
      }
    }
    if (best != nullptr) best->target.push_back(tp);
  }
}

std::vector<Acquired> GroupCoordinator::exchange(const std::string& group_id, const std::string& member,
                                                 const std::vector<TopicPartition>& released,
                                                 const std::vector<TopicPartition>& wanted) {
  std::lock_guard lock(mutex_);
  Group& group = groups_[group_id];
  bool freed = false;
  for (const TopicPartition& tp : released) {
    const auto it = group.owners.find(tp);
    if (it == group.owners.end() || it->second != member) continue;
    group.owners.erase(it);
    freed = true;
    group.parked.insert(tp);
  }
  std::vector<Acquired> taken;
  const auto m = group.members.find(member);
  if (m != group.members.end()) {
    const auto& target = m->second.target;
    for (const TopicPartition& tp : wanted) {
      if (!std::binary_search(target.begin(), target.end(), tp)) continue;
      const auto [owner, inserted] = group.owners.try_emplace(tp, member);
      if (!inserted && owner->second != member) continue;  // still read by its previous owner
      Acquired a{tp, std::nullopt};
      if (const auto c = group.committed.find(tp); c != group.committed.end()) a.committed = c->second;
      group.parked.erase(tp);
      taken.push_back(a);
    }
  }
  drop_stale_parked(group);
  if (freed) bump_epoch();  // a member waiting for these may take them now
  return taken;
}

void GroupCoordinator::drop_stale_parked(Group& group) {
  std::erase_if(group.parked, [&](const TopicPartition& tp) {
    for (const auto& [id, m] : group.members) {
      if (std::binary_search(m.target.begin(), m.target.end(), tp)) return false;
    }
    return true;  // nobody will take it: stop holding the partition back
  });
}

std::set<TopicPartition> GroupCoordinator::parked(const std::string& group_id) const {
  std::lock_guard lock(mutex_);
  const auto g = groups_.find(group_id);
  return g == groups_.end() ? std::set<TopicPartition>{} : g->second.parked;
}

void GroupCoordinator::attach_store(std::unique_ptr<OffsetStore> store, CommittedOffsets restored) {
  std::lock_guard lock(mutex_);
  store_ = std::move(store);
  for (auto& [group_id, offsets] : restored) {
    Group& group = groups_[group_id];
    for (const auto& [tp, offset] : offsets) group.committed[tp] = offset;
  }
}

void GroupCoordinator::commit(const std::string& group_id, const std::string& member,
                              const std::map<TopicPartition, std::int64_t>& offsets) {
  std::lock_guard lock(mutex_);
  Group& group = groups_[group_id];
  if (!member.empty()) {
    if (!group.members.contains(member)) {
      throw Error(ErrorCode::commit_failed,
                  fmt::format("commit for group \"{}\" failed: member {} is no longer in the group (it "
                              "left, or was removed after its session timeout; its partitions may "
                              "belong to others now); nothing was committed: poll() to rejoin",
                              group_id, member));
    }
    for (const auto& [tp, offset] : offsets) {
      const auto owner = group.owners.find(tp);
      if (owner == group.owners.end() || owner->second != member) {
        throw Error(ErrorCode::commit_failed,
                    fmt::format("commit for group \"{}\" failed: topic \"{}\" partition {} is not owned "
                                "by member {} (it was reassigned by a rebalance, or never assigned to "
                                "it); nothing was committed",
                                group_id, tp.topic, tp.partition, member));
      }
    }
  }
  if (store_ && !offsets.empty()) {
    const std::int64_t now_ms = base::wall_clock_ms();
    store_->append(group_id, offsets, now_ms);
  }
  for (const auto& [tp, offset] : offsets) group.committed[tp] = offset;
}

std::optional<std::int64_t> GroupCoordinator::committed(const std::string& group_id,
                                                        const TopicPartition& tp) const {
  std::lock_guard lock(mutex_);
  const auto g = groups_.find(group_id);
  if (g == groups_.end()) return std::nullopt;
  const auto c = g->second.committed.find(tp);
  if (c == g->second.committed.end()) return std::nullopt;
  return c->second;
}

}  // namespace rill::group
