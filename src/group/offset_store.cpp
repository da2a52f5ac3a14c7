#include "group/offset_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>

#include "log/segment_log.hpp"
#include "rill/error.hpp"
#include "storage/topic_options.hpp"
#include "storage/durable_partition.hpp"
#include "storage/record_cursor.hpp"

namespace rill::group {
namespace {

constexpr std::uint8_t kEncodingVersion = 1;
// Small segments: compaction works on closed ones, so a smaller segment
// keeps the folder (and the replay at open) small.
constexpr std::size_t kSegmentBytes = std::size_t{1} << 20;
// Commits never write tombstones today; a deletion would stay a day.
constexpr std::chrono::milliseconds kTombstoneRetention{24 * 60 * 60 * 1000};

template <typename T>
void put(std::string& out, T v) {
  // Little-endian, as every fixed-width integer of the log format.
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
  }
}

template <typename T>
bool get(std::string_view& in, T& v) {
  if (in.size() < sizeof(T)) return false;
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) u |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  v = static_cast<T>(u);
  in.remove_prefix(sizeof(T));
  return true;
}

bool get_string(std::string_view& in, std::string& s) {
  std::uint16_t n = 0;
  if (!get(in, n) || in.size() < n) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

TopicOptions offsets_topic_options() {
  TopicOptions o;
  o.storage = StorageKind::durable;
  o.partitions = 1;
  o.segment_bytes = kSegmentBytes;
  o.cleanup = CleanupPolicy::compact;
  o.tombstone_retention = kTombstoneRetention;
  return storage::resolve_topic_options(kOffsetsTopic, o, StorageKind::durable);
}

}  // namespace

std::string encode_offset_key(std::string_view group, const TopicPartition& tp) {
  std::string out;
  out.reserve(9 + group.size() + tp.topic.size());
  put(out, kEncodingVersion);
  put(out, static_cast<std::uint16_t>(group.size()));
  out.append(group);
  put(out, static_cast<std::uint16_t>(tp.topic.size()));
  out.append(tp.topic);
  put(out, tp.partition);
  return out;
}

std::string encode_offset_value(const OffsetValue& value) {
  std::string out;
  out.reserve(17);
  put(out, kEncodingVersion);
  put(out, value.offset);
  put(out, value.commit_timestamp_ms);
  return out;
}

std::optional<OffsetKey> decode_offset_key(std::string_view bytes) {
  std::uint8_t version = 0;
  OffsetKey k;
  if (!get(bytes, version) || version != kEncodingVersion) return std::nullopt;
  if (!get_string(bytes, k.group) || !get_string(bytes, k.partition.topic)) return std::nullopt;
  if (!get(bytes, k.partition.partition) || !bytes.empty()) return std::nullopt;
  return k;
}

std::optional<OffsetValue> decode_offset_value(std::string_view bytes) {
  std::uint8_t version = 0;
  OffsetValue v;
  if (!get(bytes, version) || version != kEncodingVersion) return std::nullopt;
  if (!get(bytes, v.offset) || !get(bytes, v.commit_timestamp_ms) || !bytes.empty()) return std::nullopt;
  return v;
}

OffsetStore::OffsetStore(std::string node_dir, bool repair, detail::BlockingWait* data_signal,
                         std::shared_ptr<storage::LogCleanerThread> cleaner)
    : node_dir_(std::move(node_dir)), repair_(repair), data_signal_(data_signal), cleaner_(std::move(cleaner)) {}

OffsetStore::~OffsetStore() = default;

void OffsetStore::open_partition() {
  const TopicOptions options = offsets_topic_options();
  log::SegmentLogOptions lo;
  lo.segment_bytes = options.segment_bytes;
  lo.repair = repair_;
  const std::string name(kOffsetsTopic);
  auto partition = std::make_unique<storage::DurablePartition>(log::SegmentLog::open(storage::partition_dir(node_dir_, name, 0), lo),
                                                      options, name + "-0", data_signal_);
  if (cleaner_) partition->start_compaction(cleaner_, options.tombstone_retention);
  partition_ = std::move(partition);
  builder_ = std::make_unique<codec::BatchBuilder>(partition_->max_batch_bytes());
}

CommittedOffsets OffsetStore::replay() {
  CommittedOffsets out;
  std::error_code ec;
  if (!std::filesystem::exists(storage::partition_dir(node_dir_, std::string(kOffsetsTopic), 0), ec)) return out;
  open_partition();
  const storage::Positions positions = partition_->positions();
  std::int64_t offset = positions.log_start;
  storage::ReadLease lease;
  codec::DecodedRecord d;
  while (offset < positions.log_end) {
    if (partition_->read(offset, kSegmentBytes, lease, storage::ReadOptions{}) != storage::ReadStatus::ok) {
      throw Error(ErrorCode::corrupt, fmt::format("{}-0: cannot read committed offsets at offset {}: {}",
                                                  kOffsetsTopic, std::max(offset, lease.from_offset()),
                                                  lease.damage()));
    }
    storage::RecordCursor records(lease);
    while (records.next(d)) {
      if (!d.key) continue;
      const std::optional<OffsetKey> key = decode_offset_key(*d.key);
      if (!key) continue;  // not a key of this encoding version: skipped
      auto& group = out[key->group];
      if (!d.value) {
        group.erase(key->partition);  // a tombstone: the offset was deleted
        continue;
      }
      if (const std::optional<OffsetValue> v = decode_offset_value(*d.value)) group[key->partition] = v->offset;
    }
    if (records.damaged()) {
      throw Error(ErrorCode::corrupt, fmt::format("{}-0: the batch at offset {} is damaged ({})", kOffsetsTopic,
                                                  records.damaged_batch().base_offset(), records.error().reason));
    }
    offset = records.next_offset();
  }
  std::erase_if(out, [](const auto& entry) { return entry.second.empty(); });
  return out;
}

void OffsetStore::append(std::string_view group, const std::map<TopicPartition, std::int64_t>& offsets,
                         std::int64_t now_ms) {
  if (offsets.empty()) return;
  if (!partition_) open_partition();
  builder_->reset();
  for (const auto& [tp, offset] : offsets) {
    const std::string key = encode_offset_key(group, tp);
    const std::string value = encode_offset_value({offset, now_ms});
    Record r;
    r.key = key;
    r.value = value;
    if (!builder_->try_append(r, now_ms)) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("group \"{}\": a commit of {} partitions does not fit one batch of {} bytes", group,
                              offsets.size(), partition_->max_batch_bytes()));
    }
  }
  const storage::AppendResult result = partition_->append(builder_->finish(), true, detail::Deadline::max());
  if (result.status != storage::AppendStatus::ok) {
    if (result.error) throw *result.error;
    throw Error(ErrorCode::io, fmt::format("group \"{}\": storing the commit in {}-0 failed", group, kOffsetsTopic));
  }
}

}  // namespace rill::group
