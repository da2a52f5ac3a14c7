// GateTable: the named read gates of one partition, and GateRef, a holder's
// handle on one of them (Partition::open_gate).
//
// Design
// - A gate is a plain offset: "keep every record at or after this". One
//   gate per consumer group (or per ungrouped consumer); holders that open
//   the same name share one gate, which disappears when its last holder
//   drops it. A memory partition under FullPolicy::block / ::fail never
//   drops a frame holding an offset at or past its smallest gate; other
//   storage keeps the table but ignores it (retention there is by size and
//   time), so a caller does not care which storage it reads.
// - The table is kMaxGates fixed slots, each on its own cache lines, that
//   hold offsets and counts, never pointers, so the same table could live
//   in a shared mapping (the names are kept beside it; a shared table would
//   keep them in a fixed-size field of the slot).
// - Opening, dropping and moving a gate back happen under the owner's
//   exclusion (a memory partition's gate lock). min_offset() reads the
//   offsets alone, with no lock (a free slot holds kNoGate), once the
//   table is reserved: a memory partition reserves it when it is made, so
//   its appenders never see the slots allocated under them.
// - Moving a gate forward (advance) takes no lock: a compare-exchange loop
//   that only ever raises the offset, with a release on success that pairs
//   with the acquire loads in min_offset().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rill/detail/cache.hpp"

namespace rill::storage {

class Partition;

class GateTable {
 public:
  static constexpr std::size_t kMaxGates = 64;
  // min_offset() when no gate is open.
  static constexpr std::int64_t kNoGate = std::numeric_limits<std::int64_t>::max();

  GateTable() = default;
  GateTable(const GateTable&) = delete;
  GateTable& operator=(const GateTable&) = delete;

  // Under the owner's exclusion. The slot of gate `name`, opened at
  // `offset` when no holder has it yet; an existing gate above `offset` is
  // moved back to it (the new holder needs those records kept). Throws
  // Error(invalid_argument) when kMaxGates names are open; may allocate.
  [[nodiscard]] std::uint32_t open_locked(std::string_view name, std::int64_t offset);
  // Under the owner's exclusion. One holder fewer; the last frees the slot.
  void close_locked(std::uint32_t slot) noexcept;
  // Under the owner's exclusion: sets the offset, in either direction.
  void set_locked(std::uint32_t slot, std::int64_t offset) noexcept;
  // The smallest open gate, or kNoGate. Any thread once reserve() ran
  // before the table was shared; otherwise under the owner's exclusion.
  [[nodiscard]] std::int64_t min_offset() const noexcept;
  // Allocates the slots now (open_locked does it at the first open).
  // Before the table is shared; may throw std::bad_alloc.
  void reserve();

  // Any thread, no lock: raises the gate to `offset` (never lowers it).
  // Returns true when the gate moved.
  bool advance(std::uint32_t slot, std::int64_t offset) noexcept;
  // Any thread: the gate's offset now.
  [[nodiscard]] std::int64_t offset(std::uint32_t slot) const noexcept;

 private:
  // Written by set_locked (relaxed, under the exclusion) and advance
  // (release); read by min_offset and offset() (acquire).
  struct alignas(detail::kFalseSharingRange) Slot {
    std::atomic<std::int64_t> offset{kNoGate};
    std::uint32_t holders = 0;  // under the exclusion; 0: the slot is free
  };
  static_assert(sizeof(Slot) == detail::kFalseSharingRange, "one gate per line pair");

  std::unique_ptr<Slot[]> slots_;   // kMaxGates, allocated at the first open
  std::vector<std::string> names_;  // beside slots_, under the exclusion
};

// One holder of a gate. Move-only; dropping it (destructor or reset) drops
// the holding. It must not outlive its partition. One thread at a time.
class GateRef {
 public:
  GateRef() = default;
  GateRef(Partition& partition, std::uint32_t slot) noexcept : partition_(&partition), slot_(slot) {}
  GateRef(GateRef&& other) noexcept : partition_(other.partition_), slot_(other.slot_) {
    other.partition_ = nullptr;
  }
  GateRef& operator=(GateRef&& other) noexcept;
  GateRef(const GateRef&) = delete;
  GateRef& operator=(const GateRef&) = delete;
  ~GateRef() { reset(); }

  [[nodiscard]] explicit operator bool() const noexcept { return partition_ != nullptr; }
  // The gate's offset now (shared holders move it too).
  [[nodiscard]] std::int64_t offset() const noexcept;
  // Moves the gate forward to `offset` (a no-op when it is already there
  // or past it). Lock-free; wakes an appender waiting for room.
  void advance(std::int64_t offset) noexcept;
  // Moves the gate to `offset`, clamped to the retained window [start,
  // end], under the partition's exclusion (memory: the append claim).
  // Returns where it landed. Records below the retained start are gone; a
  // caller comparing the result with `offset` learns how many.
  std::int64_t move_back(std::int64_t offset) noexcept;
  // Drops this holding (the gate goes when its last holder does).
  void reset() noexcept;

 private:
  Partition* partition_ = nullptr;
  std::uint32_t slot_ = 0;
};

}  // namespace rill::storage
