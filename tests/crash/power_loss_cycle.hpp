// The power-loss loop's cycles: a seeded workload appends batches to a
// log::SegmentLog on a FaultInjectingFileSystem, power is cut at a random
// file-system call, every file reverts to its synced bytes (the rest
// dropped, kept or garbled per 512 B or 4 KiB block; unsynced directory
// entries lost), and the reopened log is checked against a ledger.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "log/segment_log.hpp"

namespace rill::crash {

struct PowerLossOptions {
  std::uint64_t cycles = 100;  // per policy
  std::uint64_t seed = 0;
  std::filesystem::path dir;   // each policy works in dir/<policy name>
  std::vector<FsyncPolicy> policies;
  bool mixed = false;          // also cycles whose blocks each draw their own fate
};

// What the cycles of one policy found.
struct PowerLossTotals {
  std::uint64_t cycles = 0;
  std::uint64_t acknowledged = 0;     // records whose append returned
  std::uint64_t durable = 0;          // records reported durable (durable_end_offset)
  std::uint64_t lost = 0;             // reported durable, missing after recovery
  std::uint64_t phantoms = 0;         // read back but never appended there
  std::uint64_t duplicates = 0;       // a record read back twice
  std::uint64_t refused = 0;          // recovery threw
  std::uint64_t unstable = 0;         // a second recovery saw something else
  std::uint64_t cuts_in_open = 0;     // the cut landed in the open before the workload
  std::uint64_t cuts_in_workload = 0; // ...in an append, roll, sync or retention
  std::uint64_t other = 0;            // unexpected errors, gaps, unreadable offsets
  std::uint64_t unacknowledged_kept = 0;
  std::uint64_t recovery_lines = 0;   // repairs recovery reported
  std::vector<std::string> messages;

  [[nodiscard]] std::uint64_t violations() const noexcept {
    return lost + phantoms + duplicates + refused + unstable + other;
  }
};

// Runs the cycles of options.policies[index] in a fresh directory, stopping
// at the first violation; prints the summary line and returns the totals.
[[nodiscard]] PowerLossTotals run_power_loss_policy(const PowerLossOptions& options, std::size_t index);

}  // namespace rill::crash
