// ProducerImpl's metrics: the sum of its accumulators' counters
// (producer_counters.hpp), its name, and its entry in the node's registry.
#include <mutex>

#include "client/producer_impl.hpp"

namespace rill::client {

ProducerMetrics ProducerImpl::metrics(const std::string& client_id) {
  ProducerMetrics m;
  m.client_id = client_id;
  // handles_ only grows and its handles never move; the lock makes the
  // vector itself safe to walk while a sender adds a topic.
  std::lock_guard lock(handles_mutex_);
  for (const auto& h : handles_) {
    for (const auto& acc : h->accumulators) acc->counters.add_into(m);
  }
  return m;
}

ProducerMetrics ProducerImpl::metrics() { return metrics(metrics_link_.client_id); }

ClientLink ProducerImpl::link_metrics() {
  ClientLink link;
  link.client_id = broker_->client_registry().producer_name(options_.client_id);
  link.registration = broker_->client_registry().add(
      broker::ClientRegistry::ProducerSource([this, name = link.client_id] { return metrics(name); }));
  return link;
}

}  // namespace rill::client
