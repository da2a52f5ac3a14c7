// ConsumerImpl: polling, group rebalancing, positions and commits (the
// public Consumer is in consumer.cpp).
#include <fmt/format.h>

#include <algorithm>

#include "client/consumer_impl.hpp"
#include "rill/error.hpp"

namespace rill::client {

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
  std::vector<group::Released> released;
  for (AssignedPartition& ap : assigned_) {
    if (std::binary_search(target.begin(), target.end(), ap.tp)) continue;
    released.push_back({ap.tp, ap.topic, std::move(ap.reader)});
  }
  remove_partitions(revoked);
  std::vector<group::Acquired> taken =
      broker_->groups.exchange(options_.group, member_id_, std::move(released), wanted);
  std::vector<TopicPartition> added;
  for (group::Acquired& a : taken) {
    auto t = broker_->resolve(a.partition.topic);
    if (!t || a.partition.partition >= t->partition_count()) continue;  // deleted meanwhile
    add_partition(a.partition, std::move(t), a.committed, std::move(a.reader));
    added.push_back(a.partition);
  }
  notify_listener(false, added);
}

void ConsumerImpl::read_partition(AssignedPartition& ap) {
  storage::PartitionReader& reader = *ap.reader;
  const std::string_view topic_name = ap.topic->name();
  const std::size_t max = options_.max_poll_records;
  codec::BatchView batch;
  codec::DecodedRecord d;
  while (records_.size() < max) {
    std::int64_t lost_from = 0;
    std::int64_t lost = 0;
    const bool got = reader.next_batch(batch, lost_from, lost);
    if (lost > 0) losses_.push_back(LossEvent{ap.tp, lost_from, lost});
    if (!got) {
      if (std::string damage = reader.damage(); !damage.empty() && records_.empty()) {
        throw Error(ErrorCode::corrupt, fmt::format("topic \"{}\" partition {}: {}", topic_name,
                                                    ap.tp.partition, damage));
      }
      break;
    }
    codec::RecordReader records(batch);
    const std::int64_t start = reader.position();
    std::int64_t next = start;
    codec::DecodeStatus status = codec::DecodeStatus::ok;
    while (records_.size() < max && (status = records.next(d)) == codec::DecodeStatus::ok) {
      if (d.offset < next) continue;  // read before (a seek into the middle of this batch)
      records_.push_back(codec::to_record_view(d, topic_name, ap.tp.partition));
      next = d.offset + 1;
    }
    if (status == codec::DecodeStatus::corrupt) {
      // Damaged data is reported, never skipped: the records before the
      // damage are returned by this poll; the next poll stops at the damaged
      // record and throws, with the position left in front of it.
      reader.consumed(next);
      if (next != start) break;
      throw Error(ErrorCode::corrupt,
                  fmt::format("topic \"{}\" partition {}: the batch at offset {} is damaged at "
                              "byte {} ({}); position stays at offset {}",
                              topic_name, ap.tp.partition, batch.base_offset(),
                              records.error().position, records.error().reason, next));
    }
    // Read to its end: compaction may have removed the batch's last offsets.
    if (status == codec::DecodeStatus::incomplete) next = std::max(next, batch.next_offset());
    reader.consumed(next);
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
    if (ap.pending_loss || (!ap.paused && ap.reader->has_data())) return true;
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
  return broker_->data_signal.wait_until(ready_now, deadline);
}

PollResult ConsumerImpl::poll(std::chrono::milliseconds timeout) {
  check_open();
  const detail::Deadline deadline = detail::deadline_after(timeout);
  counters_.add_poll();
  for (;;) {
    for (AssignedPartition& ap : assigned_) ap.reader->begin_poll();  // releases the last poll's views
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

void ConsumerImpl::seek(const TopicPartition& tp, std::int64_t offset) {
  AssignedPartition& ap = require(tp);
  const std::int64_t reached = ap.reader->seek(offset);
  if (reached > offset && offset >= 0 && ap.topic->options().full_policy == FullPolicy::overwrite) {
    ap.pending_loss = LossEvent{tp, offset, reached - offset};
  }
}

void ConsumerImpl::seek_to(const std::vector<TopicPartition>& partitions, bool end) {
  for (const TopicPartition& tp : partitions) {
    (void)require(tp).reader->seek(end ? INT64_MAX : INT64_MIN);
  }
}

std::int64_t ConsumerImpl::seek_to_timestamp(const TopicPartition& tp, std::int64_t timestamp_ms) {
  AssignedPartition& ap = require(tp);
  const std::int64_t offset =
      broker_->list_offset(*ap.topic, tp.partition, {broker::OffsetSpec::Kind::timestamp, timestamp_ms});
  seek(tp, offset);
  return ap.reader->position();
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

std::int64_t ConsumerImpl::position(const TopicPartition& tp) const { return require(tp).reader->position(); }

std::int64_t ConsumerImpl::lag(const TopicPartition& tp) const {
  const AssignedPartition& ap = require(tp);
  const std::int64_t end = broker_->list_offset(*ap.topic, tp.partition, {broker::OffsetSpec::Kind::latest});
  return std::max<std::int64_t>(0, end - ap.reader->position());
}

void ConsumerImpl::commit(const std::map<TopicPartition, std::int64_t>* offsets) {
  check_open();
  if (options_.group.empty()) {
    throw Error(ErrorCode::invalid_argument, "commit() needs a consumer group: set ConsumerOptions::group");
  }
  std::map<TopicPartition, std::int64_t> positions;
  if (offsets == nullptr) {
    for (const AssignedPartition& ap : assigned_) positions[ap.tp] = ap.reader->position();
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
