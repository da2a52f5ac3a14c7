// ConsumerImpl: polling, group rebalancing, positions and commits (the
// public Consumer is in consumer.cpp).
#include <fmt/format.h>

#include <algorithm>

#include "client/consumer_impl.hpp"
#include "rill/error.hpp"

namespace rill::client {
namespace {

// Bytes asked for per fetch: the batches are views (or one copy), so a
// large fetch costs little and lets a poll walk many batches.
constexpr std::size_t kFetchBytes = std::size_t{1} << 20;

}  // namespace

void ConsumerImpl::group_sync(bool force) {
  if (mode_ != Mode::subscribed) return;
  const std::int64_t epoch = broker_->group_generation();
  const auto now = Clock::now();
  if (!force && !sync_needed_ && epoch == seen_epoch_ && now - last_sync_ < options_.session_timeout / 8) {
    return;
  }
  seen_epoch_ = epoch;
  last_sync_ = now;
  sync_needed_ = false;
  broker::SyncGroupResponse r = broker_->sync_group(options_.group, member_id_);
  if (!r.member_alive) {
    // Removed for silence: our partitions already belong to others. Drop
    // them without reading (commits from the listener are refused), rejoin.
    const std::vector<TopicPartition> all = assignment();
    notify_listener(true, all);
    assigned_.clear();
    join_group();
    sync_needed_ = false;
    r = broker_->sync_group(options_.group, member_id_);
  }
  apply_target(r.assignment);
}

void ConsumerImpl::apply_target(const std::vector<TopicPartition>& target) {
  std::vector<TopicPartition> revoked;
  std::vector<TopicPartition> wanted;
  for (const AssignedPartition& a : assigned_) {
    if (!std::binary_search(target.begin(), target.end(), a.tp)) revoked.push_back(a.tp);
  }
  for (const TopicPartition& tp : target) {
    if (find(tp) == nullptr) wanted.push_back(tp);
  }
  if (revoked.empty() && wanted.empty()) return;
  notify_listener(true, revoked);  // before release: the listener may still commit them
  // The group holds its gates on the revoked partitions before ours go.
  std::vector<broker::OwnedPartition> taken =
      broker_->hand_over(options_.group, member_id_, revoked, wanted, options_.auto_offset_reset);
  remove_partitions(revoked);
  std::vector<TopicPartition> added;
  for (broker::OwnedPartition& owned : taken) {
    add_partition(owned.partition, std::move(owned.topic), owned.start, std::move(owned.gate));
    added.push_back(owned.partition);
  }
  notify_listener(false, added);
}

bool ConsumerImpl::refill(AssignedPartition& ap, bool returned) {
  // A lease read from in this poll holds views the caller still has: fetch
  // into one that was not (its views belong to an earlier poll).
  int into = 1 - ap.current;
  if (ap.used[into]) {
    into = ap.current;
    if (ap.used[into]) return false;
  }
  broker::FetchLease& lease = *ap.leases[into];
  if (into != ap.current) lease.continue_from(*ap.leases[ap.current]);  // the partition's read hint
  ap.current = into;
  ap.used[into] = true;
  broker_->fetch(*ap.topic, ap.tp.partition, {ap.position, kFetchBytes, options_.check_crcs, ap.gate.get()}, lease);
  ap.position = std::max(ap.position, lease.from_offset());
  if (lease.lost() > 0) {
    const LossEvent loss{ap.tp, lease.lost_from(), lease.lost()};
    if (returned) {
      // A poll reports a partition's losses before its records: this one
      // and the records after it go to the next poll.
      ap.pending_loss = loss;
      return false;
    }
    losses_.push_back(loss);
  }
  return true;
}

void ConsumerImpl::read_partition(AssignedPartition& ap) {
  const std::string_view topic_name = ap.topic->name();
  const std::size_t max = options_.max_poll_records;
  const std::size_t before = records_.size();
  while (records_.size() < max) {
    broker::FetchLease* lease = ap.leases[ap.current].get();
    if (!lease->has_more() && !refill(ap, records_.size() > before)) break;
    lease = ap.leases[ap.current].get();
    ap.used[ap.current] = true;
    RecordView view;
    while (records_.size() < max && lease->next(view, topic_name, ap.tp.partition)) records_.push_back(view);
    ap.position = std::max(ap.position, lease->next_offset());
    if (const std::optional<std::string> damage = lease->record_damage()) {
      // Damaged data is reported, never skipped: the records before the
      // damage are returned by this poll; the next poll stops at the damaged
      // record and throws, with the position left in front of it.
      if (!records_.empty()) break;
      throw Error(ErrorCode::corrupt, fmt::format("topic \"{}\" partition {}: {}; position stays at offset {}",
                                                  topic_name, ap.tp.partition, *damage, ap.position));
    }
    if (!lease->has_more() && !lease->storage_damage().empty()) {
      if (!records_.empty()) break;
      throw Error(ErrorCode::corrupt, fmt::format("topic \"{}\" partition {}: {}", topic_name, ap.tp.partition,
                                                  lease->storage_damage()));
    }
  }
}

void ConsumerImpl::fetch() {
  const std::size_t n = assigned_.size();
  for (std::size_t i = 0; i < n && records_.size() < options_.max_poll_records; ++i) {
    AssignedPartition& ap = assigned_[(next_start_ + i) % n];
    if (ap.pending_loss) {
      losses_.push_back(*ap.pending_loss);
      ap.pending_loss.reset();
    }
    if (!ap.paused) read_partition(ap);
  }
  next_start_ = n == 0 ? 0 : (next_start_ + 1) % n;
}

bool ConsumerImpl::ready() const noexcept {
  if (mode_ == Mode::subscribed && broker_->group_generation() != seen_epoch_) return true;
  for (const AssignedPartition& ap : assigned_) {
    if (ap.pending_loss) return true;
    if (!ap.paused && (ap.leases[ap.current]->has_more() ||
                       broker_->high_watermark(*ap.topic, ap.tp.partition) > ap.position)) {
      return true;
    }
  }
  return false;
}

bool ConsumerImpl::wait_for_data(detail::Deadline deadline) {
  auto ready_now = [this]() noexcept { return ready(); };
  switch (options_.wait) {
    case ConsumerWait::busy_spin: return detail::BusySpin{}.wait_until(ready_now, deadline);
    case ConsumerWait::spin_then_yield: return detail::SpinThenYield{}.wait_until(ready_now, deadline);
    case ConsumerWait::blocking: break;
  }
  return broker_->wait_for_data(ready_now, deadline);
}

PollResult ConsumerImpl::poll(std::chrono::milliseconds timeout) {
  check_open();
  const detail::Deadline deadline = detail::deadline_after(timeout);
  counters_.add_poll();
  for (;;) {
    for (AssignedPartition& ap : assigned_) {
      // The last poll's views are released: the gate may move up to here,
      // short of the batch the current lease reads on from.
      ap.gate->advance(std::min(ap.position, ap.leases[ap.current]->pinned_from()));
      ap.used[0] = ap.used[1] = false;
    }
    records_.clear();
    losses_.clear();
    group_sync(false);
    fetch();
    note_fetch();
    if (!records_.empty() || !losses_.empty()) return PollResult(records_, losses_);
    const auto now = detail::WaitClock::now();
    if (now >= deadline) return {};
    detail::Deadline slice = deadline;
    if (mode_ == Mode::subscribed) {
      // Wake in time to heartbeat, so a long poll does not look like silence.
      slice = std::min(deadline, detail::deadline_after(options_.session_timeout / 4));
    }
    (void)wait_for_data(slice);
  }
}

std::int64_t ConsumerImpl::move_to(AssignedPartition& ap, std::int64_t offset) {
  // Releases the last poll's views (as a poll would) and every record left
  // in the leases; the gate follows the position, clamped to the window.
  ap.leases[0]->reset();
  ap.leases[1]->reset();
  ap.position = ap.gate->move_back(offset);
  return ap.position;
}

void ConsumerImpl::seek(const TopicPartition& tp, std::int64_t offset) {
  AssignedPartition& ap = require(tp);
  const std::int64_t reached = move_to(ap, offset);
  if (reached > offset && offset >= 0 && ap.topic->options().full_policy == FullPolicy::overwrite) {
    ap.pending_loss = LossEvent{tp, offset, reached - offset};
    broker_->note_loss(*ap.topic, tp.partition, reached - offset);
  }
}

void ConsumerImpl::seek_to(const std::vector<TopicPartition>& partitions, bool end) {
  for (const TopicPartition& tp : partitions) (void)move_to(require(tp), end ? INT64_MAX : INT64_MIN);
}

std::int64_t ConsumerImpl::seek_to_timestamp(const TopicPartition& tp, std::int64_t timestamp_ms) {
  AssignedPartition& ap = require(tp);
  const std::int64_t offset =
      broker_->list_offset(*ap.topic, tp.partition, {broker::OffsetSpec::Kind::timestamp, timestamp_ms});
  seek(tp, offset);
  return ap.position;
}

std::map<TopicPartition, std::int64_t> ConsumerImpl::offsets_for_times(
    const std::map<TopicPartition, std::int64_t>& timestamps_ms) const {
  check_open();
  std::map<TopicPartition, std::int64_t> out;
  for (const auto& [tp, timestamp_ms] : timestamps_ms) {
    const auto t = topic_of(tp);
    out[tp] = broker_->list_offset(*t, tp.partition, {broker::OffsetSpec::Kind::timestamp, timestamp_ms});
  }
  return out;
}

std::int64_t ConsumerImpl::position(const TopicPartition& tp) const { return require(tp).position; }

std::int64_t ConsumerImpl::lag(const TopicPartition& tp) const {
  const AssignedPartition& ap = require(tp);
  const std::int64_t end = broker_->list_offset(*ap.topic, tp.partition, {broker::OffsetSpec::Kind::latest});
  return std::max<std::int64_t>(0, end - ap.position);
}

void ConsumerImpl::commit(const std::map<TopicPartition, std::int64_t>* offsets) {
  check_open();
  if (options_.group.empty()) {
    throw Error(ErrorCode::invalid_argument, "commit() needs a consumer group: set ConsumerOptions::group");
  }
  std::map<TopicPartition, std::int64_t> positions;
  if (offsets == nullptr) {
    for (const AssignedPartition& ap : assigned_) positions[ap.tp] = ap.position;
    offsets = &positions;
  }
  const std::string& member = mode_ == Mode::subscribed ? member_id_ : std::string();
  broker_->commit_offsets(options_.group, member, *offsets);
}

std::optional<std::int64_t> ConsumerImpl::committed(const TopicPartition& tp) const {
  check_open();
  if (options_.group.empty()) return std::nullopt;
  return broker_->fetch_offset(options_.group, tp);
}

void ConsumerImpl::set_paused(const std::vector<TopicPartition>& partitions, bool paused) {
  for (const TopicPartition& tp : partitions) require(tp).paused = paused;
}

std::vector<TopicPartition> ConsumerImpl::paused() const {
  std::vector<TopicPartition> out;
  for (const AssignedPartition& ap : assigned_) {
    if (ap.paused) out.push_back(ap.tp);
  }
  return out;
}

std::vector<TopicPartition> ConsumerImpl::assignment() const {
  std::vector<TopicPartition> out;
  for (const AssignedPartition& ap : assigned_) out.push_back(ap.tp);
  return out;
}

}  // namespace rill::client
