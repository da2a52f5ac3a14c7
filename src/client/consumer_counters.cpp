#include "client/consumer_counters.hpp"

#include <algorithm>

namespace rill::client {

void ConsumerCounters::SlotRelease::operator()(PartitionSlot* slot) const noexcept {
  if (slot == nullptr) return;
  if (table) {
    std::lock_guard lock(table->mutex);
    std::erase(table->slots, slot);
  }
  delete slot;
}

ConsumerCounters::ConsumerCounters() : table_(std::make_shared<SlotTable>()) {}

ConsumerCounters::SlotHandle ConsumerCounters::attach(const TopicPartition& tp,
                                                      std::shared_ptr<const broker::TopicRef> topic,
                                                      std::int64_t position) {
  SlotHandle slot(new PartitionSlot(tp, std::move(topic)), SlotRelease{table_});
  slot->publish_position(position);
  std::lock_guard lock(table_->mutex);
  table_->slots.push_back(slot.get());
  return slot;
}

ConsumerMetrics ConsumerCounters::snapshot(const std::string& client_id, const std::string& group,
                                           broker::Broker& broker) const {
  ConsumerMetrics m;
  m.client_id = client_id;
  m.group = group;
  // relaxed (all): a snapshot of single-writer counters (see metrics.hpp).
  m.polls = polls_.load(std::memory_order_relaxed);
  m.records_polled = records_polled_.load(std::memory_order_relaxed);
  m.bytes_polled = bytes_polled_.load(std::memory_order_relaxed);
  m.records_lost = records_lost_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(table_->mutex);
    m.partitions.reserve(table_->slots.size());
    for (const PartitionSlot* slot : table_->slots) {
      ConsumerPartitionMetrics p;
      p.partition = slot->tp;
      p.position = slot->position.load(std::memory_order_relaxed);
      p.end_offset = broker.list_offset(*slot->topic, slot->tp.partition, {broker::OffsetSpec::Kind::latest});
      p.lag = std::max<std::int64_t>(0, p.end_offset - p.position);
      p.records_lost = slot->records_lost.load(std::memory_order_relaxed);
      m.partitions.push_back(std::move(p));
    }
  }
  std::sort(m.partitions.begin(), m.partitions.end(),
            [](const ConsumerPartitionMetrics& a, const ConsumerPartitionMetrics& b) {
              return a.partition < b.partition;
            });
  for (const ConsumerPartitionMetrics& p : m.partitions) m.lag += p.lag;
  return m;
}

}  // namespace rill::client
