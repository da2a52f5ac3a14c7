// The checks of the crash loop that depend on the write mode (see
// crash_checker.hpp for the common ones):
//
// - compact (CleanupPolicy::compact): older records of a key may be gone,
//   so offsets may skip. For every key, the acknowledged record with the
//   highest offset must be in the log, same bytes at the same offset,
//   unless a newer record of that key (sent but not acknowledged, before a
//   kill) is there; any other acknowledged record is at its offset or gone,
//   never replaced by another. A second open may find fewer records (a
//   compaction pass may run in the first), never others.
// - idempotent: record g is the (g / kPartitions)-th of partition
//   g % kPartitions, so offset o of partition p must hold record
//   o * kPartitions + p: every record once, in sequence order, and none
//   that no writer announced.
#pragma once

#include <cstdint>
#include <string>

#include "crash_checker.hpp"

namespace rill::crash {

// Counts one violation in `counter`, keeping the first few messages.
void note(Findings& findings, std::uint64_t& counter, std::string message);

[[nodiscard]] std::string where(std::size_t partition, std::size_t offset);

// The compact model's check of one snapshot against the acknowledgements;
// also counts the offsets compaction removed.
void check_compacted(const LogSnapshot& snapshot, const Ledger& ledger, Findings& findings);

// The compact model's stability: `second` (a later open of the same files)
// holds the same offsets' range and a subset of `first`'s records.
void check_compacted_again(const LogSnapshot& first, const LogSnapshot& second, Findings& findings);

// The idempotent model's check of one snapshot.
void check_idempotent(const LogSnapshot& snapshot, const Ledger& ledger, Findings& findings);

}  // namespace rill::crash
