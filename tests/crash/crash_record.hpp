// The records the crash loop writes: each value names its cycle and sequence
// number, carries padding of a length derived from the sequence (so batches
// and segments vary in size), and ends with an XXH3 checksum of everything
// before it. A value is fully determined by (cycle, sequence), so a checker
// can both self-check a value and compare it byte for byte with what was sent.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // header-only XXH3, as the library uses it
#endif
#include <xxhash.h>

namespace rill::crash {

// Keys cycle through this many values, so several records share a key.
inline constexpr std::uint64_t kKeyCount = 7;

inline std::string record_key(std::uint64_t sequence) {
  return "key-" + std::to_string(sequence % kKeyCount);
}

// Keys of the compacted topic (--compact): most records update one of
// kHotKeys keys, so closed segments always hold superseded records; one in
// eight sets a "cold" key shared only by the records of one run of
// kColdRun sequence numbers, whose newest record stays in its segment until
// the key comes back kColdKeys runs later. So compaction copies a closed
// segment (and reaches the crash point before the rename) more often than
// it deletes one, and old segments do empty out in the end.
inline constexpr std::uint64_t kHotKeys = 24;
inline constexpr std::uint64_t kColdRun = 64;
inline constexpr std::uint64_t kColdKeys = 1024;

// The key of record `sequence` as a number: below kHotKeys a hot key, else
// kHotKeys + the cold key's number.
inline std::uint64_t compact_key_id(std::uint64_t sequence) {
  const std::uint64_t mix = XXH3_64bits(&sequence, sizeof sequence) >> 8;
  return mix % 8 == 0 ? kHotKeys + (sequence / kColdRun) % kColdKeys : mix % kHotKeys;
}

inline std::string compact_key(std::uint64_t sequence) {
  const std::uint64_t id = compact_key_id(sequence);
  return id < kHotKeys ? "hot-" + std::to_string(id) : "cold-" + std::to_string(id - kHotKeys);
}

inline std::string record_value(std::uint32_t cycle, std::uint64_t sequence) {
  std::string value = "cycle=" + std::to_string(cycle) + " seq=" + std::to_string(sequence) + " pad=";
  const std::uint64_t mix = XXH3_64bits(&sequence, sizeof sequence);
  value.append(static_cast<std::size_t>(mix % 240), static_cast<char>('a' + mix % 26));
  const std::uint64_t checksum = XXH3_64bits(value.data(), value.size());
  char hex[17] = {};
  std::to_chars(hex, hex + 16, checksum, 16);
  value += " sum=";
  value += hex;
  return value;
}

// What a value claims to be.
struct RecordIdentity {
  std::uint32_t cycle = 0;
  std::uint64_t sequence = 0;
};

// Parses `value` and returns its identity only if it is exactly the value
// record_value() makes for that identity (which implies a good checksum).
inline std::optional<RecordIdentity> parse_record_value(std::string_view value) {
  constexpr std::string_view kCycle = "cycle=";
  constexpr std::string_view kSeq = " seq=";
  if (!value.starts_with(kCycle)) return std::nullopt;
  RecordIdentity identity;
  const char* end = value.data() + value.size();
  auto cycle = std::from_chars(value.data() + kCycle.size(), end, identity.cycle);
  if (cycle.ec != std::errc() || std::string_view(cycle.ptr, static_cast<std::size_t>(end - cycle.ptr))
                                         .substr(0, kSeq.size()) != kSeq) {
    return std::nullopt;
  }
  auto sequence = std::from_chars(cycle.ptr + kSeq.size(), end, identity.sequence);
  if (sequence.ec != std::errc()) return std::nullopt;
  if (record_value(identity.cycle, identity.sequence) != value) return std::nullopt;
  return identity;
}

}  // namespace rill::crash
