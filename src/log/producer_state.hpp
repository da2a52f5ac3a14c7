// ProducerStateTable: what one durable partition remembers about its
// idempotent producers, so that a batch sent twice is written once.
//
// Design
// - A batch whose header carries a producer id (>= 0) is checked before it
//   is appended (check) and noted after (record). The table keeps, per
//   producer id: its epoch, the last sequence written, and the first/last
//   sequence and base offset of its kRecentBatches newest batches.
// - The check, for a producer the table knows, with the same epoch:
//     base_sequence == last + 1 (wrapping)      -> append
//     (first, last) equal to a remembered batch -> duplicate: not written;
//                                                  the append reports that
//                                                  batch's base offset
//     anything else (a gap, an older batch)     -> Error(out_of_order_sequence)
//   A newer epoch must start at sequence 0 (the entry is reset); an older
//   one is refused. A producer the table does not know may start at any
//   sequence: its state may have gone with segments that retention deleted.
// - Sequences are int32 and wrap as Kafka's do: after INT32_MAX comes 0,
//   and a batch covers last_offset_delta + 1 sequences.
// - The table is derived data. SegmentLog writes it to a snapshot file
//   (producer_snapshot.hpp) when a segment rolls and, at open, loads the
//   newest valid snapshot and replays the batch headers after it (record,
//   with no check), so what recovery cut from the log is not counted.
// - Thread roles: only the log's writer touches it (the caller serializes
//   check, record and next_sequence with append). record allocates only
//   when a producer id appears for the first time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codec/batch_format.hpp"

namespace rill::log {

// Batches remembered per producer for duplicate detection (Kafka's 5).
inline constexpr std::size_t kRecentBatches = 5;

// The sequence after `sequence` moved on by `count` records (Kafka's int32
// wrap: INT32_MAX + 1 is 0). `sequence` >= 0, 0 <= count <= 2^31.
[[nodiscard]] constexpr std::int32_t add_sequence(std::int32_t sequence, std::int64_t count) noexcept {
  constexpr std::int64_t kModulus = std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1;
  return static_cast<std::int32_t>((std::int64_t{sequence} + count) % kModulus);
}

// One batch a producer wrote: its sequences and where it landed.
struct ProducerBatch {
  std::int32_t first_sequence = 0;
  std::int32_t last_sequence = 0;
  std::int64_t base_offset = 0;
};

struct ProducerEntry {
  std::int16_t epoch = 0;
  std::int32_t last_sequence = -1;
  // The newest batches, oldest first; only the first recent_count are used.
  std::array<ProducerBatch, kRecentBatches> recent{};
  std::uint8_t recent_count = 0;
};

enum class SequenceVerdict {
  append,     // write the batch
  duplicate,  // already written: do not write it again
};

struct SequenceCheck {
  SequenceVerdict verdict = SequenceVerdict::append;
  std::int64_t original_base_offset = -1;  // for duplicate: where it was written
};

class ProducerStateTable {
 public:
  // Checks a batch covering `sequences` offsets (last_offset_delta + 1)
  // before it is appended. Plain batches (producer_id < 0) always append.
  // Throws Error(out_of_order_sequence) for a sequence that is neither next
  // nor a remembered batch, or an older epoch; Error(invalid_argument) for
  // a producer id with a negative epoch or sequence. `where` names the
  // partition in messages. Does not allocate unless it throws.
  [[nodiscard]] SequenceCheck check(const codec::ProducerFields& producer, std::int64_t sequences,
                                    const std::string& where) const;
  // Notes a batch written at `base_offset` (after check, and at recovery
  // replay, where nothing is checked). No-op for plain batches.
  void record(const codec::ProducerFields& producer, std::int64_t sequences,
              std::int64_t base_offset);
  // The sequence the producer's next batch must start with: 0 when the
  // table does not know it.
  [[nodiscard]] std::int32_t next_sequence(std::int64_t producer_id) const noexcept;
  [[nodiscard]] const ProducerEntry* find(std::int64_t producer_id) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  void clear() noexcept { entries_.clear(); }

  // The snapshot file's bytes (format in producer_snapshot.hpp) for a table
  // that covers every batch below `offset`.
  [[nodiscard]] std::vector<std::byte> encode(std::int64_t offset) const;
  // Decodes snapshot bytes. Returns nullopt, with the reason in `why`, for
  // damaged bytes (checksum, length, magic, version, or an offset other than
  // `offset`, the one in the file name). Treats the bytes as untrusted.
  [[nodiscard]] static std::optional<ProducerStateTable> decode(std::span<const std::byte> bytes,
                                                                std::int64_t offset,
                                                                std::string& why);

 private:
  // Ordered, so that a snapshot's bytes depend only on the table.
  std::map<std::int64_t, ProducerEntry> entries_;
};

}  // namespace rill::log
