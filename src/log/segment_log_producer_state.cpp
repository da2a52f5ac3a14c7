// SegmentLog: the idempotent producers' state (producer_state.hpp) —
// the check on append, the snapshot at each roll, loading it at open, and
// dropping snapshots that retention made useless.
#include <fmt/format.h>

#include <algorithm>

#include "log/segment_log.hpp"
#include "log/producer_snapshot.hpp"
#include "rill/error.hpp"

namespace rill::log {
namespace {

// Bytes asked of read() per step of the replay: spans of the mapping.
constexpr std::size_t kReplayChunkBytes = std::size_t{1} << 20;

}  // namespace

std::optional<Appended> SegmentLog::check_producer(const codec::BatchView& batch,
                                                         std::int64_t record_count) const {
  const codec::ProducerFields producer = batch.producer();
  if (producer.producer_id < 0) return std::nullopt;
  const SequenceCheck check = producer_state_.check(producer, record_count, dir_);
  if (check.verdict == SequenceVerdict::append) return std::nullopt;
  Appended result{check.original_base_offset, durable_end_offset()};
  result.duplicate = true;
  return result;
}

std::int32_t SegmentLog::next_sequence(std::int64_t producer_id) const noexcept {
  return producer_state_.next_sequence(producer_id);
}

void SegmentLog::snapshot_producer_state(std::int64_t offset) noexcept {
  try {
    write_snapshot(fs_, dir_, offset, producer_state_, options_.fsync_policy != FsyncPolicy::none);
  } catch (const std::exception& e) {
    // Derived data: the next open rebuilds the state from an older snapshot
    // or the log. The segment itself is fine, so the append goes on.
    try {
      hook_(fmt::format("{}: producer-state snapshot not written ({}); the next open rebuilds it "
                        "from the log",
                        snapshot_path(dir_, offset), e.what()));
    } catch (...) {
    }
  }
}

void SegmentLog::drop_producer_snapshots_below(std::int64_t offset) noexcept {
  // A snapshot below the start would be replayed over missing batches.
  try {
    bool removed = false;
    for (std::int64_t snapshot : list_snapshots(fs_, dir_)) {
      if (snapshot >= offset) break;
      fs_.unlink(snapshot_path(dir_, snapshot));
      removed = true;
    }
    if (removed) fs_.sync_directory(dir_);
  } catch (...) {
    // Left for the next retention pass; open ignores snapshots below the start.
  }
}

void SegmentLog::load_producer_state() {
  remove_snapshot_leftovers(fs_, dir_);
  const std::int64_t start = start_offset();
  const std::int64_t end = end_offset();
  std::int64_t from = start;
  bool removed = false;
  const std::vector<std::int64_t> offsets = list_snapshots(fs_, dir_);
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) {
    if (*it < start) break;  // retention's leftovers: not usable
    const std::string path = snapshot_path(dir_, *it);
    std::string why;
    if (*it > end) {
      why = fmt::format("it covers offsets up to {}, past the log end {}", *it, end);
    } else {
      std::optional<ProducerStateTable> table;
      try {
        table = ProducerStateTable::decode(fs_.read_file(path), *it, why);
      } catch (const Error& e) {
        why = e.what();
      }
      if (table) {
        producer_state_ = std::move(*table);
        from = *it;
        break;
      }
    }
    hook_(fmt::format("{}: producer-state snapshot removed ({}); rebuilt from an older one or the "
                      "log",
                      path, why));
    fs_.unlink(path);
    removed = true;
  }
  if (removed) fs_.sync_directory(dir_);
  replay_producer_batches(from);
  // Replayed closed segments (an old snapshot, or none): save the work.
  if (from < segments_.back()->base_offset()) snapshot_producer_state(end);
}

void SegmentLog::replay_producer_batches(std::int64_t from) {
  std::int64_t position = from;
  const std::int64_t end = end_offset();
  while (position < end) {
    const ReadResult r = read(position, kReplayChunkBytes);
    std::span<const std::byte> bytes = r.bytes;
    const std::int64_t before = position;
    while (!bytes.empty()) {
      const codec::BatchView batch = next_batch(bytes);
      if (!batch.valid()) break;
      if (batch.next_offset() <= position) continue;
      producer_state_.record(batch.producer(), std::int64_t{batch.last_offset_delta()} + 1,
                             batch.base_offset());
      position = batch.next_offset();
    }
    if (position > before) continue;
    // No batch here: damage in a closed segment, or offsets missing (a
    // compacted segment). Go on with the next segment.
    const std::vector<std::int64_t> bases = segment_base_offsets();
    const auto next = std::upper_bound(bases.begin(), bases.end(), position);
    if (r.status == ReadStatus::corrupt) {
      hook_(fmt::format("{}: the batch holding offset {} is damaged; producer state skips it",
                        dir_, position));
    }
    if (next == bases.end()) break;
    position = *next;
  }
}

}  // namespace rill::log
