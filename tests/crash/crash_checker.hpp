// The checking half of the crash loop: reopens the data directory (running
// recovery), reads every record of the topic back and compares it with the
// ledger of acknowledged sends.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "crash_writer.hpp"

namespace rill::crash {

// The sequence numbers one writer child may have used: [first, bound).
// Those below acknowledged_end were reported acknowledged; the others may
// or may not have been sent (a record sent but not yet reported may be kept).
struct CycleRange {
  std::uint64_t first = 0;
  std::uint64_t acknowledged_end = 0;
  std::uint64_t bound = 0;
};

// Everything the writers reported: the acknowledged sends and each cycle's range.
struct Ledger {
  std::vector<AckMessage> acknowledged;
  std::vector<CycleRange> cycles;  // index = cycle number
  // The idempotent mode. One past the highest sequence a writer announced
  // it was about to send; every record of the log must be below it.
  std::uint64_t sent_end = 0;
  // Per partition: one past the highest place (sequence / kPartitions)
  // acknowledged, or found held by a writer's next_sequence.
  std::vector<std::int64_t> known_end = std::vector<std::int64_t>(kPartitions, 0);
  // Per partition, as the newest check found them (empty: no topic yet).
  std::vector<std::int64_t> end_offsets;
};

// One record as read back. `valid` is false when its key or value is not
// exactly what the writer makes for the identity the value claims.
struct LogEntry {
  std::uint32_t cycle = 0;
  std::uint64_t sequence = 0;
  bool valid = false;
  bool present = false;  // false: no record was read at this offset
};

// The topic as one open of the directory saw it.
struct LogSnapshot {
  bool has_topic = false;
  std::vector<std::vector<LogEntry>> partitions;  // index = offset; absent below the start and in gaps
  std::vector<std::int64_t> start_offsets;        // above 0 only after retention
  std::vector<std::int64_t> end_offsets;
  std::uint64_t digest = 0;       // XXH3 over partition, offset, key and value of every record
  std::uint64_t recovery_lines = 0;  // lines recovery wrote to stderr (torn tails cut)
  std::vector<std::string> problems;  // offsets not dense (or not increasing), unreadable records
};

// What a check found; lost, phantoms, duplicates and other must stay zero,
// the other counts show what was exercised.
struct Findings {
  std::uint64_t lost = 0;        // acknowledged records missing or different
  std::uint64_t phantoms = 0;    // records that were never sent (bad bytes, unknown sequence)
  std::uint64_t duplicates = 0;  // a sequence number present more than once
  std::uint64_t other = 0;       // gaps, unreadable logs, a second open that differs
  std::uint64_t unacknowledged_kept = 0;  // sent but unreported records in the newest log (allowed)
  std::uint64_t recovery_lines = 0;
  std::uint64_t removed = 0;  // compact mode: offsets below the end no longer held (newest log)
  std::uint64_t resent = 0;   // idempotent mode: records sent again after a restart
  // Idempotent mode: records sent but not acknowledged that the log held
  // at the restart (next_sequence counted them, so they were not resent).
  std::uint64_t held_unacknowledged = 0;
  std::vector<std::int64_t> end_offsets;  // of the newest log, per partition
  std::vector<std::string> messages;  // the first few violations, for the report

  [[nodiscard]] std::uint64_t violations() const noexcept { return lost + phantoms + duplicates + other; }
  void add(const Findings& cycle);
};

// Opens `dir`, reads the whole topic, and closes the node again. A start
// offset above 0 is a problem unless `retention` (the topic deletes old
// segments); offsets may skip (but must increase) under WriteMode::compact.
[[nodiscard]] LogSnapshot read_log(const std::filesystem::path& dir, WriteMode mode, bool retention = false);

// Opens `dir` twice and checks the log against `ledger`, by the model of
// `mode` (crash_models.hpp for compact and idempotent). Under `retention`
// an acknowledged record below its partition's start offset is not lost.
[[nodiscard]] Findings check_directory(const std::filesystem::path& dir, const Ledger& ledger, WriteMode mode,
                                       bool retention = false);

}  // namespace rill::crash
