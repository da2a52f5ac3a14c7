#include "crash_checker.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unordered_map>
#include <utility>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // header-only XXH3, as the library uses it
#endif
#include <xxhash.h>

#include "crash_models.hpp"
#include "crash_record.hpp"
#include "rill/consumer.hpp"
#include "rill/error.hpp"
#include "rill/node.hpp"

namespace rill::crash {
namespace {

constexpr std::size_t kMaxMessages = 10;

// Sends stderr to a temporary file while alive, to count the lines recovery
// writes (one per torn tail it cuts) without flooding the output.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_fd_ = ::dup(STDERR_FILENO);
    if (file_ != nullptr && saved_fd_ >= 0) ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~StderrCapture() {
    restore();
    if (file_ != nullptr) std::fclose(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // Restores stderr and returns the number of lines written meanwhile.
  std::uint64_t finish() {
    restore();
    if (file_ == nullptr) return 0;
    std::rewind(file_);
    std::uint64_t lines = 0;
    for (int c = std::fgetc(file_); c != EOF; c = std::fgetc(file_)) lines += c == '\n' ? 1 : 0;
    return lines;
  }

 private:
  void restore() {
    if (saved_fd_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_fd_, STDERR_FILENO);
    ::close(saved_fd_);
    saved_fd_ = -1;
  }

  std::FILE* file_ = nullptr;
  int saved_fd_ = -1;
};

void digest_record(XXH3_state_t* state, const RecordView& record) {
  const std::int64_t fields[] = {record.partition(), record.offset(),
                                 static_cast<std::int64_t>(record.key().size()),
                                 static_cast<std::int64_t>(record.value().size())};
  XXH3_64bits_update(state, fields, sizeof fields);
  XXH3_64bits_update(state, record.key().data(), record.key().size());
  XXH3_64bits_update(state, record.value().data(), record.value().size());
}

LogEntry decode_entry(const RecordView& record, WriteMode mode) {
  LogEntry entry{.cycle = 0, .sequence = 0, .valid = false, .present = true};
  if (const auto identity = parse_record_value(record.value())) {
    entry.cycle = identity->cycle;
    entry.sequence = identity->sequence;
    const std::string key =
        mode == WriteMode::compact ? compact_key(identity->sequence) : record_key(identity->sequence);
    entry.valid = record.has_key() && record.key() == key;
  }
  return entry;
}

// Appends one polled record to the snapshot, checking that offsets are
// dense (or, under WriteMode::compact, that they increase).
void take_record(LogSnapshot& snapshot, XXH3_state_t* state, const RecordView& record, WriteMode mode) {
  auto& entries = snapshot.partitions[static_cast<std::size_t>(record.partition())];
  const auto expected = static_cast<std::int64_t>(entries.size());
  if (record.offset() < expected || (record.offset() > expected && mode != WriteMode::compact)) {
    snapshot.problems.push_back("partition " + std::to_string(record.partition()) + ": offset " +
                                std::to_string(record.offset()) + " where " + std::to_string(expected) +
                                " was due");
    if (record.offset() < expected) return;  // read twice, or going back
  }
  entries.resize(static_cast<std::size_t>(record.offset()));
  entries.push_back(decode_entry(record, mode));
  digest_record(state, record);
}

// True once the consumer's position is at the end of every partition.
bool read_to_ends(const Consumer& consumer, const std::vector<TopicPartition>& assignment,
                  const LogSnapshot& snapshot) {
  for (std::size_t p = 0; p < assignment.size(); ++p) {
    if (consumer.position(assignment[p]) < snapshot.end_offsets[p]) return false;
  }
  return true;
}

// Polls every partition from its start up to its end offset.
void read_records(const Node& node, LogSnapshot& snapshot, WriteMode mode) {
  std::vector<TopicPartition> assignment;
  for (std::int32_t p = 0; p < kPartitions; ++p) assignment.push_back({kTopic, p});
  Consumer consumer(node, {.auto_offset_reset = OffsetReset::earliest});
  consumer.assign(assignment);
  consumer.seek_to_beginning(assignment);
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  int idle_polls = 0;
  while (!read_to_ends(consumer, assignment, snapshot) && idle_polls < 50) {
    const PollResult batch = consumer.poll(std::chrono::milliseconds(10));
    idle_polls = batch.empty() ? idle_polls + 1 : 0;
    for (const RecordView& record : batch) take_record(snapshot, state, record, mode);
  }
  snapshot.digest = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  for (std::size_t p = 0; p < assignment.size(); ++p) {
    const std::int64_t position = consumer.position(assignment[p]);
    if (position == snapshot.end_offsets[p]) continue;
    snapshot.problems.push_back("partition " + std::to_string(p) + ": read up to offset " + std::to_string(position) +
                                " of " + std::to_string(snapshot.end_offsets[p]));
  }
}

}  // namespace

void Findings::add(const Findings& cycle) {
  lost += cycle.lost;
  phantoms += cycle.phantoms;
  duplicates += cycle.duplicates;
  other += cycle.other;
  unacknowledged_kept = cycle.unacknowledged_kept;  // a property of the newest log, not a sum
  recovery_lines += cycle.recovery_lines;
  removed = cycle.removed;  // of the newest log too
  resent += cycle.resent;
  held_unacknowledged += cycle.held_unacknowledged;
  if (!cycle.end_offsets.empty()) end_offsets = cycle.end_offsets;
  for (const std::string& m : cycle.messages) {
    if (messages.size() < kMaxMessages) messages.push_back(m);
  }
}

LogSnapshot read_log(const std::filesystem::path& dir, WriteMode mode, bool retention) {
  LogSnapshot snapshot;
  StderrCapture capture;
  Node node = Node::open(dir);  // a writer killed early may not have created it
  snapshot.recovery_lines = capture.finish();
  snapshot.has_topic = node.has_topic(kTopic);
  if (!snapshot.has_topic) return snapshot;
  const TopicDescription description = node.describe_topic(kTopic);
  snapshot.partitions.resize(description.partitions.size());
  for (const PartitionInfo& info : description.partitions) {
    snapshot.end_offsets.push_back(info.end_offset);
    snapshot.start_offsets.push_back(info.start_offset);
    // Offsets below the start were deleted by retention: no entries there.
    snapshot.partitions[static_cast<std::size_t>(info.partition)].resize(static_cast<std::size_t>(info.start_offset));
    if (info.start_offset != 0 && !retention) {
      snapshot.problems.push_back("partition " + std::to_string(info.partition) + " starts at offset " +
                                  std::to_string(info.start_offset));
    }
  }
  if (description.partitions.size() != static_cast<std::size_t>(kPartitions)) {
    snapshot.problems.push_back("topic has " + std::to_string(description.partitions.size()) + " partitions");
    return snapshot;
  }
  read_records(node, snapshot, mode);
  return snapshot;
}

namespace {

// Every record read must be one that a writer sent, and only once.
void check_entries(const LogSnapshot& snapshot, const Ledger& ledger, Findings& findings) {
  std::unordered_map<std::uint64_t, std::pair<std::size_t, std::size_t>> seen;
  for (std::size_t p = 0; p < snapshot.partitions.size(); ++p) {
    const auto& entries = snapshot.partitions[p];
    for (auto offset = static_cast<std::size_t>(snapshot.start_offsets[p]); offset < entries.size(); ++offset) {
      const LogEntry& entry = entries[offset];
      if (!entry.present) continue;  // a compaction gap (reported elsewhere if not allowed)
      if (!entry.valid) {
        note(findings, findings.phantoms, where(p, offset) + ": bytes that no writer sent");
        continue;
      }
      if (entry.cycle >= ledger.cycles.size() || entry.sequence < ledger.cycles[entry.cycle].first ||
          entry.sequence >= ledger.cycles[entry.cycle].bound) {
        note(findings, findings.phantoms, where(p, offset) + ": sequence " + std::to_string(entry.sequence) +
                                              " of cycle " + std::to_string(entry.cycle) + " was never sent");
        continue;
      }
      const auto [it, inserted] = seen.try_emplace(entry.sequence, p, offset);
      if (!inserted) {
        note(findings, findings.duplicates, where(p, offset) + ": sequence " + std::to_string(entry.sequence) +
                                                " also at " + where(it->second.first, it->second.second));
      } else if (entry.sequence >= ledger.cycles[entry.cycle].acknowledged_end) {
        ++findings.unacknowledged_kept;
      }
    }
  }
}

// Every acknowledged record must be at its acknowledged place.
void check_acknowledged(const LogSnapshot& snapshot, const Ledger& ledger, Findings& findings) {
  for (const AckMessage& ack : ledger.acknowledged) {
    const auto p = static_cast<std::size_t>(ack.partition);
    const auto offset = static_cast<std::size_t>(ack.offset);
    if (p < snapshot.start_offsets.size() && ack.offset < snapshot.start_offsets[p]) continue;  // retention
    const bool present = ack.partition >= 0 && p < snapshot.partitions.size() && ack.offset >= 0 &&
                         offset < snapshot.partitions[p].size() && snapshot.partitions[p][offset].valid &&
                         snapshot.partitions[p][offset].sequence == ack.sequence;
    if (!present) {
      note(findings, findings.lost, "acknowledged sequence " + std::to_string(ack.sequence) + " at " +
                                        where(p, offset) + " is missing or different");
    }
  }
}

}  // namespace

Findings check_directory(const std::filesystem::path& dir, const Ledger& ledger, WriteMode mode, bool retention) {
  Findings findings;
  LogSnapshot first;
  LogSnapshot second;
  try {
    first = read_log(dir, mode, retention);
    second = read_log(dir, mode, retention);
  } catch (const std::exception& e) {
    note(findings, findings.other, std::string("reopening the directory failed: ") + e.what());
    return findings;
  }
  findings.recovery_lines = first.recovery_lines;
  findings.end_offsets = first.end_offsets;
  for (const std::string& problem : first.problems) note(findings, findings.other, problem);
  if (mode == WriteMode::compact) {
    // A compaction pass may run while the first open reads: the second
    // may hold fewer records.
    for (const std::string& problem : second.problems) note(findings, findings.other, problem);
    check_compacted_again(first, second, findings);
    check_entries(first, ledger, findings);
    check_compacted(first, ledger, findings);
    check_compacted(second, ledger, findings);  // its count of removed offsets stays
    return findings;
  }
  if (first.has_topic != second.has_topic || first.end_offsets != second.end_offsets ||
      first.start_offsets != second.start_offsets ||
      first.digest != second.digest || second.recovery_lines != 0) {
    note(findings, findings.other, "a second open of the same files found a different log");
  }
  if (mode == WriteMode::idempotent) {
    check_idempotent(first, ledger, findings);
  } else {
    check_entries(first, ledger, findings);
  }
  check_acknowledged(first, ledger, findings);
  return findings;
}

}  // namespace rill::crash
