#include "storage/gate_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "rill/error.hpp"
#include "storage/partition.hpp"

namespace rill::storage {

void GateTable::reserve() {
  if (slots_) return;
  std::vector<std::string> names(kMaxGates);  // both or neither, should an allocation fail
  auto slots = std::make_unique<Slot[]>(kMaxGates);
  names_ = std::move(names);
  slots_ = std::move(slots);
}

std::uint32_t GateTable::open_locked(std::string_view name, std::int64_t offset) {
  reserve();
  std::size_t free = kMaxGates;
  for (std::size_t i = 0; i < kMaxGates; ++i) {
    if (slots_[i].holders == 0) {
      free = std::min(free, i);
      continue;
    }
    if (names_[i] != name) continue;
    ++slots_[i].holders;
    if (offset < this->offset(static_cast<std::uint32_t>(i))) set_locked(static_cast<std::uint32_t>(i), offset);
    return static_cast<std::uint32_t>(i);
  }
  if (free == kMaxGates) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("gate \"{}\": a partition holds at most {} gates (one per consumer group "
                            "or ungrouped consumer); close consumers or groups that are gone",
                            name, kMaxGates));
  }
  names_[free].assign(name);
  slots_[free].holders = 1;
  set_locked(static_cast<std::uint32_t>(free), offset);
  return static_cast<std::uint32_t>(free);
}

void GateTable::close_locked(std::uint32_t slot) noexcept {
  if (--slots_[slot].holders != 0) return;
  names_[slot].clear();
  // release: min_offset() reads offsets alone; a free slot holds kNoGate.
  slots_[slot].offset.store(kNoGate, std::memory_order_release);
}

void GateTable::set_locked(std::uint32_t slot, std::int64_t offset) noexcept {
  // release: pairs with the acquire in offset() on a holder's thread; the
  // appender reads it under the exclusion, which orders it anyway.
  slots_[slot].offset.store(offset, std::memory_order_release);
}

std::int64_t GateTable::min_offset() const noexcept {
  std::int64_t slowest = kNoGate;
  if (!slots_) return slowest;
  for (std::size_t i = 0; i < kMaxGates; ++i) {
    // acquire: pairs with the release in advance() and set_locked(); the
    // holder's reads of the records below the new offset are done before
    // we drop them. A free slot holds kNoGate, so holders need not be read.
    slowest = std::min(slowest, slots_[i].offset.load(std::memory_order_acquire));
  }
  return slowest;
}

bool GateTable::advance(std::uint32_t slot, std::int64_t offset) noexcept {
  std::atomic<std::int64_t>& gate = slots_[slot].offset;
  // relaxed: only compared; the exchange below publishes.
  std::int64_t seen = gate.load(std::memory_order_relaxed);
  while (seen < offset) {
    // release on success: pairs with the acquire in min_offset().
    // relaxed on failure: we only retry with the value seen.
    if (gate.compare_exchange_weak(seen, offset, std::memory_order_release, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

std::int64_t GateTable::offset(std::uint32_t slot) const noexcept {
  // acquire: pairs with the release in set_locked() / advance().
  return slots_[slot].offset.load(std::memory_order_acquire);
}

GateRef& GateRef::operator=(GateRef&& other) noexcept {
  if (this != &other) {
    reset();
    partition_ = other.partition_;
    slot_ = other.slot_;
    other.partition_ = nullptr;
  }
  return *this;
}

std::int64_t GateRef::offset() const noexcept { return partition_->gates_.offset(slot_); }

void GateRef::advance(std::int64_t offset) noexcept {
  if (partition_->gates_.advance(slot_, offset)) partition_->gate_advanced();
}

std::int64_t GateRef::move_back(std::int64_t offset) noexcept {
  partition_->lock_gates();
  const Positions p = partition_->positions();
  offset = std::clamp(offset, p.log_start, p.log_end);
  partition_->gates_.set_locked(slot_, offset);
  if (const std::int64_t held = partition_->gate_lowered_locked(offset); held != offset) {
    partition_->gates_.set_locked(slot_, held);
    offset = held;
  }
  partition_->unlock_gates();
  partition_->gate_advanced();  // it may have moved forward too
  return offset;
}

void GateRef::reset() noexcept {
  if (partition_ == nullptr) return;
  partition_->lock_gates();
  partition_->gates_.close_locked(slot_);
  partition_->unlock_gates();
  partition_->gate_advanced();  // the smallest gate may have gone
  partition_ = nullptr;
}

GateRef Partition::open_gate(std::string_view name, std::int64_t offset) {
  lock_gates();
  std::uint32_t slot = 0;
  try {
    const Positions p = positions();
    if (offset == kEarliest) offset = p.log_start;
    if (offset == kLatest) offset = p.log_end;
    slot = gates_.open_locked(name, std::clamp(offset, p.log_start, p.log_end));
    const std::int64_t asked = gates_.offset(slot);
    if (const std::int64_t held = gate_lowered_locked(asked); held != asked) gates_.set_locked(slot, held);
  } catch (...) {
    unlock_gates();
    throw;
  }
  unlock_gates();
  return GateRef(*this, slot);
}

}  // namespace rill::storage
