// The producer side of idempotence (idempotence.hpp): the claim, the
// sequence stamped into each batch, and Producer::next_sequence.
#include "client/idempotence.hpp"

#include <fmt/format.h>

#include <utility>

#include "client/producer_impl.hpp"
#include "codec/batch_format.hpp"
#include "log/producer_state.hpp"
#include "base/names.hpp"

namespace rill::client {
namespace {

constexpr std::string_view kField = "ProducerOptions::idempotence_id";

// Validates with the topic-name rule; the message names the option.
void validate_id(const std::string& id) {
  try {
    base::validate_topic_name(id);
  } catch (const Error& e) {
    std::string message = e.what();
    constexpr std::string_view kPrefix = "topic name";
    if (message.starts_with(kPrefix)) message.replace(0, kPrefix.size(), kField);
    throw Error(ErrorCode::invalid_argument, message);
  }
}

}  // namespace

std::int64_t record_sequence(std::int32_t base_sequence, std::uint32_t index) noexcept {
  if (base_sequence < 0) return -1;
  return log::add_sequence(base_sequence, index);
}

IdempotenceClaim::IdempotenceClaim(std::shared_ptr<broker::Broker> broker, const std::string& id) {
  if (id.empty()) return;
  validate_id(id);
  producer_id_ = broker->init_producer_id(id);  // Error(already_exists) for a live id
  broker_ = std::move(broker);
  id_ = id;
}

IdempotenceClaim::IdempotenceClaim(IdempotenceClaim&& other) noexcept
    : broker_(std::move(other.broker_)), id_(std::move(other.id_)), producer_id_(other.producer_id_) {}

IdempotenceClaim& IdempotenceClaim::operator=(IdempotenceClaim&& other) noexcept {
  if (this != &other) {
    release();
    broker_ = std::move(other.broker_);
    id_ = std::move(other.id_);
    producer_id_ = other.producer_id_;
  }
  return *this;
}

void IdempotenceClaim::release() noexcept {
  if (!broker_) return;
  broker_->release_producer_id(id_);
  broker_.reset();
}

codec::ProducerFields ProducerImpl::producer_fields(const PartitionAccumulator& acc) const noexcept {
  if (idempotence_.producer_id() < 0) return {};
  return {idempotence_.producer_id(), 0, acc.next_sequence};
}

std::int32_t ProducerImpl::note_append(PartitionAccumulator& acc, const broker::ProduceResult& r,
                                       std::int64_t records) noexcept {
  const std::int64_t producer_id = idempotence_.producer_id();
  if (producer_id < 0) return -1;
  const std::int32_t base = acc.next_sequence;
  if (r.status == broker::ProduceStatus::ok && !r.duplicate) {
    acc.next_sequence = log::add_sequence(base, records);
    return base;
  }
  // A duplicate, or a failure that may have left the batch in the log (a
  // failed sync) or found the count behind (out of order): the partition
  // knows. A memory partition answers -1; its appends that fail write nothing.
  if (r.status == broker::ProduceStatus::ok || r.status == broker::ProduceStatus::failed) {
    const std::int32_t stored = broker_->next_sequence(*acc.topic->state, acc.partition, producer_id);
    if (stored >= 0) acc.next_sequence = stored;
  }
  return r.status == broker::ProduceStatus::ok ? base : -1;
}

void ProducerImpl::start_sequences(TopicHandle& h) noexcept {
  const std::int64_t producer_id = idempotence_.producer_id();
  if (producer_id < 0) return;
  // The handle is not shared yet: no accumulator lock is needed.
  for (const auto& acc : h.accumulators) {
    const std::int32_t stored = broker_->next_sequence(*h.state, acc->partition, producer_id);
    acc->next_sequence = stored >= 0 ? stored : 0;
  }
}

std::int64_t ProducerImpl::next_sequence(std::string_view topic, std::int32_t partition) {
  const std::int64_t producer_id = idempotence_.producer_id();
  if (producer_id < 0) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("next_sequence on topic \"{}\": the producer is not idempotent (set {})",
                            topic, kField));
  }
  TopicHandle* h = find_handle(topic);
  if (h == nullptr) {
    throw Error(ErrorCode::not_found, fmt::format("next_sequence: no topic \"{}\"", topic));
  }
  if (partition < 0 || partition >= h->state->partition_count()) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("next_sequence on topic \"{}\": partition {} does not exist (the topic "
                            "has {}: 0 to {})",
                            topic, partition, h->state->partition_count(),
                            h->state->partition_count() - 1));
  }
  PartitionAccumulator& acc = *h->accumulators[static_cast<std::size_t>(partition)];
  const std::int32_t stored = broker_->next_sequence(*acc.topic->state, acc.partition, producer_id);
  if (stored >= 0) return stored;
  std::lock_guard lock(acc.lock);
  return acc.next_sequence;
}

}  // namespace rill::client
