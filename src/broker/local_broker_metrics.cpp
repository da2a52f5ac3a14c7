// LocalBroker::metrics(): the partitions' counters, summed per topic, and
// the live producers' and consumers' (client_registry.hpp).
#include <memory>
#include <vector>

#include "rill/metrics.hpp"
#include "broker/local_broker.hpp"

namespace rill::broker {
namespace {

void add_counts(PartitionCounts& total, const PartitionCounts& part) noexcept {
  total.records_appended += part.records_appended;
  total.bytes_appended += part.bytes_appended;
  total.batches_appended += part.batches_appended;
  total.full_events += part.full_events;
  total.records_lost += part.records_lost;
  total.syncs += part.syncs;
  total.sync_failures += part.sync_failures;
  total.sync_latency.merge(part.sync_latency);
  total.truncations_at_recovery += part.truncations_at_recovery;
  total.bytes_truncated_at_recovery += part.bytes_truncated_at_recovery;
}

TopicMetrics topic_metrics(const storage::TopicState& t) {
  TopicMetrics m;
  m.name = t.name;
  m.storage = t.options.storage;
  m.partitions.reserve(t.partitions.size());
  for (std::size_t p = 0; p < t.partitions.size(); ++p) {
    PartitionMetrics pm = t.partitions[p]->metrics();
    pm.partition = static_cast<std::int32_t>(p);
    add_counts(m, pm);
    m.partitions.push_back(pm);
  }
  return m;
}

}  // namespace

NodeMetrics LocalBroker::metrics() const {
  std::vector<std::shared_ptr<storage::TopicState>> held;
  {
    std::lock_guard lock(catalog_mutex);
    held.reserve(topics.size());
    for (const auto& [name, t] : topics) held.push_back(t);  // sorted by name
  }
  NodeMetrics out;
  out.topics.reserve(held.size());
  for (const auto& t : held) out.topics.push_back(topic_metrics(*t));
  clients.collect(out);
  return out;
}

}  // namespace rill::broker
