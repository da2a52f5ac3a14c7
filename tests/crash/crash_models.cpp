#include "crash_models.hpp"

#include <unordered_map>
#include <utility>
#include <vector>

#include "crash_record.hpp"

namespace rill::crash {
namespace {

constexpr std::size_t kMaxMessages = 10;

// Where the newest record of a key is (partition -1: nowhere).
struct KeyPlace {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::uint64_t sequence = 0;
};

// The newest record of every key in the snapshot, by compact_key_id.
std::unordered_map<std::uint64_t, KeyPlace> newest_in_log(const LogSnapshot& snapshot) {
  std::unordered_map<std::uint64_t, KeyPlace> newest;
  for (std::size_t p = 0; p < snapshot.partitions.size(); ++p) {
    const auto& entries = snapshot.partitions[p];
    for (std::size_t offset = 0; offset < entries.size(); ++offset) {
      if (!entries[offset].present || !entries[offset].valid) continue;
      newest[compact_key_id(entries[offset].sequence)] = {static_cast<std::int32_t>(p),
                                                          static_cast<std::int64_t>(offset),
                                                          entries[offset].sequence};
    }
  }
  return newest;
}

// The acknowledged record with the highest offset of every key.
std::unordered_map<std::uint64_t, const AckMessage*> newest_acknowledged(const Ledger& ledger) {
  std::unordered_map<std::uint64_t, const AckMessage*> newest;
  for (const AckMessage& ack : ledger.acknowledged) {
    const AckMessage*& slot = newest[compact_key_id(ack.sequence)];
    if (slot == nullptr || ack.offset > slot->offset) slot = &ack;
  }
  return newest;
}

const LogEntry* entry_at(const LogSnapshot& snapshot, std::int32_t partition, std::int64_t offset) {
  if (partition < 0 || offset < 0) return nullptr;
  const auto p = static_cast<std::size_t>(partition);
  const auto o = static_cast<std::size_t>(offset);
  if (p >= snapshot.partitions.size() || o >= snapshot.partitions[p].size()) return nullptr;
  const LogEntry& entry = snapshot.partitions[p][o];
  return entry.present ? &entry : nullptr;
}

// A key's newest acknowledged record is there, or a newer one of its key.
void check_newest_keys(const LogSnapshot& snapshot, const Ledger& ledger, Findings& findings) {
  const std::unordered_map<std::uint64_t, KeyPlace> in_log = newest_in_log(snapshot);
  for (const auto& [key, ack] : newest_acknowledged(ledger)) {
    const auto found = in_log.find(key);
    const KeyPlace place = found == in_log.end() ? KeyPlace{} : found->second;
    const bool kept = place.partition == ack->partition &&
                      (place.offset > ack->offset || (place.offset == ack->offset && place.sequence == ack->sequence));
    if (!kept) {
      note(findings, findings.lost, "sequence " + std::to_string(ack->sequence) + " (the newest acknowledged of key " +
                                        compact_key(ack->sequence) + ") at " +
                                        where(static_cast<std::size_t>(ack->partition),
                                              static_cast<std::size_t>(ack->offset)) +
                                        " is missing and no newer record of its key is there");
    }
  }
}

// An older acknowledged record may be gone, not replaced.
void check_acknowledged_places(const LogSnapshot& snapshot, const Ledger& ledger, Findings& findings) {
  for (const AckMessage& ack : ledger.acknowledged) {
    const LogEntry* entry = entry_at(snapshot, ack.partition, ack.offset);
    if (entry != nullptr && (!entry->valid || entry->sequence != ack.sequence)) {
      note(findings, findings.lost, "acknowledged sequence " + std::to_string(ack.sequence) + " at " +
                                        where(static_cast<std::size_t>(ack.partition),
                                              static_cast<std::size_t>(ack.offset)) +
                                        " was replaced by another record");
    }
  }
}

}  // namespace

void note(Findings& findings, std::uint64_t& counter, std::string message) {
  ++counter;
  if (findings.messages.size() < kMaxMessages) findings.messages.push_back(std::move(message));
}

std::string where(std::size_t partition, std::size_t offset) {
  return "partition " + std::to_string(partition) + " offset " + std::to_string(offset);
}

void check_compacted(const LogSnapshot& snapshot, const Ledger& ledger, Findings& findings) {
  check_newest_keys(snapshot, ledger, findings);
  check_acknowledged_places(snapshot, ledger, findings);
  findings.removed = 0;
  for (std::size_t p = 0; p < snapshot.partitions.size() && p < snapshot.end_offsets.size(); ++p) {
    std::uint64_t held = 0;
    for (const LogEntry& entry : snapshot.partitions[p]) held += entry.present ? 1 : 0;
    findings.removed += static_cast<std::uint64_t>(snapshot.end_offsets[p] - snapshot.start_offsets[p]) - held;
  }
}

void check_compacted_again(const LogSnapshot& first, const LogSnapshot& second, Findings& findings) {
  bool same = first.has_topic == second.has_topic && first.end_offsets == second.end_offsets &&
              first.start_offsets == second.start_offsets && second.recovery_lines == 0 &&
              first.partitions.size() == second.partitions.size();
  for (std::size_t p = 0; same && p < second.partitions.size(); ++p) {
    const auto& entries = second.partitions[p];
    for (std::size_t offset = 0; same && offset < entries.size(); ++offset) {
      if (!entries[offset].present) continue;
      const LogEntry* before = entry_at(first, static_cast<std::int32_t>(p), static_cast<std::int64_t>(offset));
      same = before != nullptr && before->valid == entries[offset].valid &&
             before->sequence == entries[offset].sequence && before->cycle == entries[offset].cycle;
    }
  }
  if (!same) note(findings, findings.other, "a second open of the same files found records the first did not");
}

void check_idempotent(const LogSnapshot& snapshot, const Ledger& ledger, Findings& findings) {
  for (std::size_t p = 0; p < snapshot.partitions.size(); ++p) {
    const auto& entries = snapshot.partitions[p];
    for (std::size_t offset = 0; offset < entries.size(); ++offset) {
      const LogEntry& entry = entries[offset];
      const std::uint64_t due = offset * kPartitions + p;
      if (!entry.present || !entry.valid) {
        note(findings, findings.phantoms, where(p, offset) + ": no record, or bytes that no writer sent");
      } else if (entry.sequence >= ledger.sent_end) {
        note(findings, findings.phantoms, where(p, offset) + ": sequence " + std::to_string(entry.sequence) +
                                              " was never sent");
      } else if (entry.sequence < due) {
        note(findings, findings.duplicates, where(p, offset) + ": sequence " + std::to_string(entry.sequence) +
                                                " again (" + std::to_string(due) + " was due)");
      } else if (entry.sequence != due) {
        note(findings, findings.other, where(p, offset) + ": sequence " + std::to_string(entry.sequence) +
                                           " where " + std::to_string(due) + " was due");
      }
    }
  }
}

}  // namespace rill::crash
