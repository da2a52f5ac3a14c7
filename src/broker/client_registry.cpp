#include "broker/client_registry.hpp"

#include <string>
#include <utility>

namespace rill::broker {

ClientRegistry::Registration::Registration(Registration&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(other.id_) {}

ClientRegistry::Registration& ClientRegistry::Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void ClientRegistry::Registration::reset() noexcept {
  if (registry_ != nullptr) std::exchange(registry_, nullptr)->remove(id_);
}

std::string ClientRegistry::producer_name(std::string_view requested) {
  if (!requested.empty()) return std::string(requested);
  std::lock_guard lock(mutex_);
  return "producer-" + std::to_string(++producers_named_);
}

std::string ClientRegistry::consumer_name(std::string_view requested) {
  if (!requested.empty()) return std::string(requested);
  std::lock_guard lock(mutex_);
  return "consumer-" + std::to_string(++consumers_named_);
}

ClientRegistry::Registration ClientRegistry::add(ProducerSource source) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  producers_.emplace(id, std::move(source));
  return Registration(this, id);
}

ClientRegistry::Registration ClientRegistry::add(ConsumerSource source) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  consumers_.emplace(id, std::move(source));
  return Registration(this, id);
}

void ClientRegistry::remove(std::uint64_t id) noexcept {
  std::lock_guard lock(mutex_);  // waits for a collect() that may be calling this client
  producers_.erase(id);
  consumers_.erase(id);
}

void ClientRegistry::collect(NodeMetrics& out) const {
  std::lock_guard lock(mutex_);
  out.producers.reserve(out.producers.size() + producers_.size());
  for (const auto& [id, source] : producers_) out.producers.push_back(source());
  out.consumers.reserve(out.consumers.size() + consumers_.size());
  for (const auto& [id, source] : consumers_) out.consumers.push_back(source());
}

}  // namespace rill::broker
