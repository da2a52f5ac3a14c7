// The recovery point of a partition folder: which boot of the machine last
// wrote the log, and up to which offset the log was synced then. Recovery
// uses it to tell a power loss's torn writes from damage.
//
// Design
// - After a process crash the kernel still holds every byte the process
//   wrote, so damage in the middle of a log is real damage: recovery
//   refuses it (unless asked to repair). After a power loss or a kernel
//   crash, the pages written since the last sync may reach the disk in any
//   order, so a torn batch may well be followed by an intact one: that is
//   not damage but an unsynced tail, and recovery cuts it there (keeping
//   ".damaged" copies, as a repair does) when it lies at or past the
//   recovery offset. Damage below the recovery offset was synced data and
//   is refused as before.
// - "A power loss happened" is read as "the boot id differs from the one in
//   the file" (/proc/sys/kernel/random/boot_id on Linux, FileSystem::boot_id;
//   the fault-injecting file system changes it at each simulated power
//   loss). An unknown boot id (empty) never counts as a reboot.
// - The offset is the durable end offset at the last roll or orderly close
//   (it may lag the true synced end: damage in between is then cut rather
//   than refused). A folder without the file has offset 0.
// - The offset vouches for every record below it, across restarts too: it
//   was synced (an orderly close syncs under every policy). Damage below it,
//   or a log that ends before it, is never a torn tail: recovery refuses it
//   (Error(corrupt) naming file, byte and reason) unless asked to repair.
//   Only what lies at or past it may be cut as torn (judge_damage).
// - File "recovery-point": one text line "rill-recovery-point 1 boot=<id>
//   offset=<n> checksum=<16 hex digits of XXH3-64 of what precedes>",
//   replaced whole (temp file, sync, rename, directory sync). A file that
//   fails its checks reads as absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "log/file_system.hpp"

namespace rill::log {

inline constexpr const char* kRecoveryPointName = "recovery-point";
inline constexpr const char* kRecoveryPointTempName = "recovery-point.tmp";

struct RecoveryPoint {
  std::string boot_id;
  std::int64_t offset = 0;
};

// What recovery makes of damage (or of a log ending short) found where
// offset `at` should start: cut it as a torn tail, or refuse it (repair
// cuts it, keeping a copy). `valid_data_after`: a valid batch lies after
// the damage, in its segment or a later one.
enum class DamageVerdict { cut_torn_tail, refuse };
struct RecoveryContext {
  std::int64_t recovery_offset = 0;  // offsets below were synced (the file's offset)
  bool rebooted = false;             // the machine restarted since the log was written
};
[[nodiscard]] constexpr DamageVerdict judge_damage(const RecoveryContext& context, std::int64_t at,
                                                   bool valid_data_after) noexcept {
  // Synced, or written before an orderly close: acknowledged, never torn.
  if (at < context.recovery_offset) return DamageVerdict::refuse;
  // A process crash leaves at most the batch being written torn, with
  // nothing after it; after a restart unsynced pages reach the disk in any
  // order, so valid batches may follow a torn one.
  if (!valid_data_after || context.rebooted) return DamageVerdict::cut_torn_tail;
  return DamageVerdict::refuse;
}

// The folder's recovery point, or nullopt when the file is absent or bad.
[[nodiscard]] std::optional<RecoveryPoint> read_recovery_point(FileSystem& fs, const std::string& dir);
// Replaces the folder's recovery point durably. Throws Error(io).
void write_recovery_point(FileSystem& fs, const std::string& dir, const RecoveryPoint& point);

}  // namespace rill::log
