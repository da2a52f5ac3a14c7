// The one wall clock of rill: milliseconds since the Unix epoch, the unit of
// record timestamps (Kafka's CreateTime), retention ages and tombstone
// expiry. Durations and deadlines use std::chrono::steady_clock instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace rill::base {

[[nodiscard]] inline std::int64_t wall_clock_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace rill::base
