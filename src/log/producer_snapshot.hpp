// Producer-state snapshot files: the layout constants and the file calls.
// docs/log_format.md ("Producer-state snapshots") is the byte-level
// specification; change one, change the other.
//
// A partition folder holds at most one snapshot per segment roll:
//   <offset>.snapshot   the ProducerStateTable (producer_state.hpp) covering
//                       every batch below <offset> (20 zero-padded digits,
//                       as segment names are)
// Layout, little-endian:
//   header   24 bytes: magic u32, version u16, reserved u16 (0), offset i64,
//            producer count u32, reserved u32 (0)
//   entries  96 bytes each, producer ids strictly increasing: producer id
//            i64, epoch i16, recent batch count u8 (1..5), reserved u8 (0),
//            last sequence i32, then 5 recent batches (first sequence i32,
//            last sequence i32, base offset i64), oldest first, unused ones zero
//   trailer  8 bytes: XXH3-64 of every byte before it
// Snapshots are derived data: a missing or damaged one is rebuilt from an
// older one, or from the log start, by replaying batch headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/file_system.hpp"

namespace rill::log {

class ProducerStateTable;

inline constexpr std::uint32_t kSnapshotMagic = 0x4e535052;  // "RPSN" in file order
inline constexpr std::uint16_t kSnapshotVersion = 1;
inline constexpr std::size_t kSnapshotHeaderSize = 24;
inline constexpr std::size_t kSnapshotEntrySize = 96;
inline constexpr std::size_t kSnapshotTrailerSize = 8;
inline constexpr std::string_view kSnapshotSuffix = ".snapshot";
// A snapshot being written; renamed to its final name once complete.
inline constexpr std::string_view kSnapshotTempSuffix = ".snapshot.tmp";

// "<20 digits>.snapshot" -> the offset, or nullopt for any other name.
[[nodiscard]] std::optional<std::int64_t> parse_snapshot_name(std::string_view name) noexcept;
// The path of the snapshot for `offset` in `dir`.
[[nodiscard]] std::string snapshot_path(const std::string& dir, std::int64_t offset);
// Offsets of the snapshots in `dir`, ascending.
[[nodiscard]] std::vector<std::int64_t> list_snapshots(FileSystem& fs, const std::string& dir);

// Writes the snapshot of `table` for `offset`: a temporary file, renamed
// over the final name. With `durable`, the file is synced before the rename
// and the directory after it. Throws Error(io).
void write_snapshot(FileSystem& fs, const std::string& dir, std::int64_t offset,
                    const ProducerStateTable& table, bool durable);
// Removes leftover temporary snapshot files (a crash while writing one).
void remove_snapshot_leftovers(FileSystem& fs, const std::string& dir);

}  // namespace rill::log
