// LocalBroker's read side: fetch into a lease, the high watermark, the
// wait for data, read gates and lost-record counts; and FetchLease's
// damage text.
#include <fmt/format.h>

#include <algorithm>

#include "broker/local_broker.hpp"

namespace rill::broker {
namespace {

// Every ReadGate this broker hands out (open_gate()): what a fetch passes
// to the partition, if anything.
class LocalReadGate : public ReadGate {
 public:
  // The partition's gate, or null when the storage holds nothing back.
  [[nodiscard]] virtual const storage::GateRef* storage_gate() const noexcept = 0;
};

// A gate in a partition's gate table; keeps the partition alive.
class LocalGate final : public LocalReadGate {
 public:
  LocalGate(std::shared_ptr<storage::TopicState> topic, storage::GateRef gate) noexcept
      : topic_(std::move(topic)), gate_(std::move(gate)) {}
  [[nodiscard]] std::int64_t offset() const noexcept override { return gate_.offset(); }
  void advance(std::int64_t offset) noexcept override { gate_.advance(offset); }
  std::int64_t move_back(std::int64_t offset) noexcept override { return gate_.move_back(offset); }
  [[nodiscard]] const storage::GateRef* storage_gate() const noexcept override { return &gate_; }

 private:
  std::shared_ptr<storage::TopicState> topic_;  // declared first: outlives the gate
  storage::GateRef gate_;
};

// A gate on storage that holds nothing back for its readers (durable
// partitions, FullPolicy::overwrite): just the offset, clamped like the
// others, so it takes no slot of the partition's gate table.
class OffsetGate final : public LocalReadGate {
 public:
  OffsetGate(std::shared_ptr<storage::TopicState> topic, storage::Partition& partition, std::int64_t offset) noexcept
      : topic_(std::move(topic)), partition_(partition), offset_(clamped(offset)) {}
  [[nodiscard]] std::int64_t offset() const noexcept override { return offset_; }
  void advance(std::int64_t offset) noexcept override { offset_ = std::max(offset_, offset); }
  std::int64_t move_back(std::int64_t offset) noexcept override { return offset_ = clamped(offset); }
  [[nodiscard]] const storage::GateRef* storage_gate() const noexcept override { return nullptr; }

 private:
  [[nodiscard]] std::int64_t clamped(std::int64_t offset) const noexcept {
    const storage::Positions p = partition_.positions();
    return std::clamp(offset, p.log_start, p.log_end);
  }
  std::shared_ptr<storage::TopicState> topic_;  // keeps the partition alive
  storage::Partition& partition_;
  std::int64_t offset_;
};

}  // namespace

std::optional<std::string> FetchLease::record_damage() const {
  if (!cursor_.damaged()) return std::nullopt;
  return fmt::format("the batch at offset {} is damaged at byte {} ({})", cursor_.damaged_batch().base_offset(),
                     cursor_.error().position, cursor_.error().reason);
}

void LocalBroker::fetch(const TopicRef& topic, std::int32_t partition, const FetchRequest& request,
                        FetchLease& into) noexcept {
  storage::Partition& p = LocalTopic::of(topic).partition(partition);
  storage::ReadOptions options;
  options.check_crcs = request.check_crcs;
  if (request.gate != nullptr) options.gate = static_cast<const LocalReadGate*>(request.gate)->storage_gate();
  (void)p.read(request.offset, request.max_bytes, into.lease_, options);
  if (into.lease_.lost() > 0) p.counters.add_lost(static_cast<std::uint64_t>(into.lease_.lost()));
  into.cursor_ = storage::RecordCursor(into.lease_);
}

std::int64_t LocalBroker::high_watermark(const TopicRef& topic, std::int32_t partition) const noexcept {
  return LocalTopic::of(topic).partition(partition).end_offset();
}

bool LocalBroker::wait_for_data(const std::function<bool()>& ready, detail::Deadline deadline) {
  return data_signal.wait_until(ready, deadline);
}

std::unique_ptr<ReadGate> LocalBroker::open_gate(const TopicRef& topic, std::int32_t partition,
                                                 std::string_view name, std::int64_t offset) {
  const LocalTopic& t = LocalTopic::of(topic);
  const TopicOptions& o = t.options();
  if (o.storage != StorageKind::memory || o.full_policy == FullPolicy::overwrite) {
    return std::make_unique<OffsetGate>(t.shared_state(), t.partition(partition), offset);
  }
  storage::GateRef gate = t.partition(partition).open_gate(name, offset);
  return std::make_unique<LocalGate>(t.shared_state(), std::move(gate));
}

void LocalBroker::note_loss(const TopicRef& topic, std::int32_t partition, std::int64_t records) noexcept {
  if (records > 0) LocalTopic::of(topic).partition(partition).counters.add_lost(static_cast<std::uint64_t>(records));
}

}  // namespace rill::broker
