// ConsumerImpl's metrics: per-fetch counting (consumer_counters.hpp), the
// snapshot, and the consumer's entry in the node's registry.
#include "client/consumer_impl.hpp"

namespace rill::client {

void ConsumerImpl::note_fetch() noexcept {
  std::uint64_t bytes = 0;
  for (const RecordView& r : records_) bytes += r.key().size() + r.value().size();
  std::uint64_t lost = 0;
  for (const LossEvent& e : losses_) {
    const auto count = static_cast<std::uint64_t>(e.count);
    lost += count;
    if (AssignedPartition* ap = find(e.partition); ap != nullptr) {
      ap->metrics_slot->add_lost(count);
    }
  }
  counters_.add_fetch(records_.size(), bytes, lost);
  for (const AssignedPartition& ap : assigned_) ap.metrics_slot->publish_position(ap.position);
}

ConsumerMetrics ConsumerImpl::metrics() const {
  // On the consumer's thread: the readers' positions are exact now.
  for (const AssignedPartition& ap : assigned_) ap.metrics_slot->publish_position(ap.position);
  return counters_.snapshot(metrics_link_.client_id, options_.group, *broker_);
}

ClientLink ConsumerImpl::link_metrics() {
  ClientLink link;
  link.client_id = broker_->client_registry().consumer_name(options_.client_id);
  link.registration = broker_->client_registry().add(broker::ClientRegistry::ConsumerSource(
      [this, name = link.client_id] { return counters_.snapshot(name, options_.group, *broker_); }));
  return link;
}

}  // namespace rill::client
