#include "power_loss_cycle.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"
#include "crash_record.hpp"
#include "support/fault_injecting_file_system.hpp"
#include "rill/error.hpp"

namespace rill::crash {
namespace {

using log::FaultInjectingFileSystem;
using log::SegmentLog;
using Unsynced = FaultInjectingFileSystem::Unsynced;

// Small segments so that nearly every cycle rolls, and a size limit so that
// retention deletes segments while the log grows across cycles.
constexpr std::size_t kSegmentBytes = 8192;
constexpr std::uint64_t kRetentionBytes = 24 * 1024;
constexpr int kMaxOps = 40;
constexpr int kMaxBatchRecords = 8;

log::SegmentLogOptions log_options(FsyncPolicy policy) {
  log::SegmentLogOptions options;
  options.segment_bytes = kSegmentBytes;
  options.index_interval_bytes = 256;
  options.fsync_policy = policy;
  options.fsync_interval = std::chrono::milliseconds(1);
  options.retention_bytes = kRetentionBytes;
  return options;
}

// What was appended at each offset (the newest append there: a power loss
// may cut the log, and later appends reuse the offsets it lost).
struct Ledger {
  std::vector<std::uint64_t> sequence_at;  // index: offset
  std::int64_t acknowledged_end = 0;       // offsets below were acknowledged
  std::int64_t durable_end = 0;            // offsets below were reported durable
  std::uint64_t next_sequence = 0;
};

// The records a recovered log holds.
struct Contents {
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::vector<std::uint64_t> sequences;  // from start, one per offset
  bool operator==(const Contents&) const = default;
};

const char* fate_name(Unsynced fate) noexcept {
  switch (fate) {
    case Unsynced::drop: return "dropped";
    case Unsynced::keep: return "kept";
    case Unsynced::garbage: return "garbled";
    case Unsynced::mixed: return "mixed";
  }
  return "?";
}

struct CyclePlan {
  int ops = 0;
  std::uint64_t cut_after = 0;  // file-system calls until the power fails
  bool cut_in_open = false;     // counted from before the workload's open
  FaultInjectingFileSystem::PowerLoss how;
};

class PolicyRun {
 public:
  PolicyRun(const PowerLossOptions& options, FsyncPolicy policy, std::filesystem::path dir)
      : options_(options), policy_(policy), dir_(std::move(dir)), fs_(posix_),
        random_(options.seed ^ (0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(policy) + 1))) {
    fs_.skip_real_syncs(true);  // the loss is simulated; real fsyncs would only cost time
  }

  // One cycle; false once a violation was found.
  bool run_cycle(std::uint64_t cycle);
  [[nodiscard]] PowerLossTotals& totals() noexcept { return totals_; }
  [[nodiscard]] const CyclePlan& last_plan() const noexcept { return last_plan_; }

 private:
  CyclePlan plan(std::uint64_t cycle);
  void run_workload(SegmentLog& log, int ops);
  void append_batch(SegmentLog& log);
  void note_durable(std::int64_t end);
  [[nodiscard]] std::unique_ptr<SegmentLog> reopen(std::uint64_t& lines);
  [[nodiscard]] Contents read_back(const SegmentLog& log);
  void check_against_ledger(const Contents& contents);
  void violation(std::uint64_t& counter, const std::string& message);

  const PowerLossOptions& options_;
  FsyncPolicy policy_;
  CyclePlan last_plan_;
  std::string dir_;
  log::PosixFileSystem posix_;
  FaultInjectingFileSystem fs_;
  std::mt19937_64 random_;
  Ledger ledger_;
  PowerLossTotals totals_;
  codec::BatchBuilder builder_{1 << 16};
};

void PolicyRun::violation(std::uint64_t& counter, const std::string& message) {
  ++counter;
  if (totals_.messages.size() < 20) totals_.messages.push_back(message);
}

CyclePlan PolicyRun::plan(std::uint64_t cycle) {
  static constexpr Unsynced kFates[] = {Unsynced::drop, Unsynced::keep, Unsynced::garbage,
                                        Unsynced::mixed};
  const std::uint64_t kinds = options_.mixed ? 8 : 6;
  CyclePlan plan;
  plan.how.unsynced = kFates[(cycle % kinds) / 2];
  plan.how.block_bytes = cycle % 2 == 0 ? 512 : 4096;
  plan.how.seed = random_() | 1;
  plan.ops = 1 + static_cast<int>(random_() % kMaxOps);
  plan.cut_in_open = random_() % 8 == 0;
  // Rolls, syncs and retention make a few calls each; an open some per
  // segment. Some cuts fall after the workload: the loss then takes its
  // unsynced tail.
  plan.cut_after = 1 + random_() % static_cast<std::uint64_t>(plan.ops * 4 + (plan.cut_in_open ? 60 : 0));
  return plan;
}

void PolicyRun::note_durable(std::int64_t end) {
  if (end <= ledger_.durable_end) return;
  totals_.durable += static_cast<std::uint64_t>(end - ledger_.durable_end);
  ledger_.durable_end = end;
}

void PolicyRun::append_batch(SegmentLog& log) {
  const int count = 1 + static_cast<int>(random_() % kMaxBatchRecords);
  std::vector<std::string> keys, values;
  builder_.reset();
  for (int i = 0; i < count; ++i) {
    const std::uint64_t sequence = ledger_.next_sequence + static_cast<std::uint64_t>(i);
    keys.push_back(record_key(sequence));
    values.push_back(record_value(0, sequence));
  }
  for (int i = 0; i < count; ++i) {
    const Record record{.key = keys[i], .value = values[i]};
    if (!builder_.try_append(record, static_cast<std::int64_t>(ledger_.next_sequence) + i)) {
      throw Error(ErrorCode::invalid_argument, "power-loss workload: batch builder full");
    }
  }
  const std::span<const std::byte> batch = builder_.finish();
  // The batch goes in the ledger before the append: if the power fails
  // during it, recovery may find it (whole) or not.
  const std::int64_t base = log.end_offset();
  ledger_.sequence_at.resize(static_cast<std::size_t>(base + count));
  for (int i = 0; i < count; ++i) {
    ledger_.sequence_at[static_cast<std::size_t>(base + i)] = ledger_.next_sequence + static_cast<std::uint64_t>(i);
  }
  ledger_.next_sequence += static_cast<std::uint64_t>(count);
  const log::Appended result = log.append(batch, count);
  if (result.base_offset != base) {
    violation(totals_.other, "append assigned offset " + std::to_string(result.base_offset) +
                                 ", expected " + std::to_string(base));
  }
  totals_.acknowledged += static_cast<std::uint64_t>(count);
  ledger_.acknowledged_end = base + count;
  note_durable(result.durable_end_offset);
}

void PolicyRun::run_workload(SegmentLog& log, int ops) {
  for (int op = 0; op < ops; ++op) {
    const std::uint64_t choice = random_() % 10;
    if (choice < 8) {
      append_batch(log);
    } else if (choice == 8) {
      log.sync();
      note_durable(log.durable_end_offset());
    } else {
      (void)log.enforce_retention(static_cast<std::int64_t>(ledger_.next_sequence));
    }
  }
}

std::unique_ptr<SegmentLog> PolicyRun::reopen(std::uint64_t& lines) {
  return SegmentLog::open(dir_, log_options(policy_), fs_, [&lines](const std::string&) { ++lines; });
}

Contents PolicyRun::read_back(const SegmentLog& log) {
  Contents contents{log.start_offset(), log.end_offset(), {}};
  std::int64_t expected = contents.start;
  while (expected < contents.end) {
    const log::ReadResult read = log.read(expected, 1 << 16);
    if (read.status != log::ReadStatus::ok) {
      violation(totals_.other, "offset " + std::to_string(expected) + " below the end is not readable");
      return contents;
    }
    std::span<const std::byte> bytes = read.bytes;
    while (!bytes.empty()) {
      codec::RecordReader reader(log::next_batch(bytes));
      codec::DecodedRecord record;
      while (reader.next(record) == codec::DecodeStatus::ok) {
        if (record.offset != expected) {
          violation(totals_.other, "offset " + std::to_string(record.offset) + " where " +
                                       std::to_string(expected) + " was due");
          return contents;
        }
        const auto identity = record.value ? parse_record_value(*record.value) : std::nullopt;
        contents.sequences.push_back(identity ? identity->sequence : ~std::uint64_t{0});
        if (identity && record.key != std::optional<std::string_view>(record_key(identity->sequence))) {
          contents.sequences.back() = ~std::uint64_t{0};
        }
        ++expected;
      }
    }
  }
  return contents;
}

void PolicyRun::check_against_ledger(const Contents& contents) {
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i < contents.sequences.size(); ++i) {
    const auto offset = static_cast<std::size_t>(contents.start) + i;
    const std::uint64_t sequence = contents.sequences[i];
    if (offset >= ledger_.sequence_at.size() || ledger_.sequence_at[offset] != sequence) {
      violation(totals_.phantoms, "offset " + std::to_string(offset) + " holds a record never appended there");
    } else if (i > 0 && sequence <= previous) {
      violation(totals_.duplicates, "offset " + std::to_string(offset) + " repeats or reorders sequence " +
                                        std::to_string(sequence));
    }
    previous = sequence;
  }
  if (contents.end < ledger_.durable_end) {
    violation(totals_.lost, "log ends at " + std::to_string(contents.end) + " but offsets below " +
                                std::to_string(ledger_.durable_end) + " were reported durable");
    totals_.lost += static_cast<std::uint64_t>(ledger_.durable_end - contents.end) - 1;
  }
  if (contents.end > ledger_.acknowledged_end) {
    totals_.unacknowledged_kept += static_cast<std::uint64_t>(contents.end - ledger_.acknowledged_end);
  }
  // What survived is on disk now; later appends continue after it.
  ledger_.sequence_at.resize(static_cast<std::size_t>(contents.end));
  ledger_.acknowledged_end = ledger_.durable_end = contents.end;
}

bool PolicyRun::run_cycle(std::uint64_t cycle) {
  const CyclePlan plan = last_plan_ = this->plan(cycle);
  std::uint64_t lines = 0;
  std::unique_ptr<SegmentLog> log;
  bool opened = false;
  try {
    if (plan.cut_in_open) fs_.cut_power_after(plan.cut_after);
    log = reopen(lines);
    opened = true;
    if (!plan.cut_in_open) fs_.cut_power_after(plan.cut_after);
    run_workload(*log, plan.ops);
  } catch (const Error& e) {
    if (!fs_.power_is_cut()) violation(totals_.other, std::string("cycle error without a power cut: ") + e.what());
  }
  if (fs_.power_is_cut()) ++(opened ? totals_.cuts_in_workload : totals_.cuts_in_open);
  log.reset();
  fs_.power_loss(plan.how);

  try {
    lines = 0;
    log = reopen(lines);
    totals_.recovery_lines += lines;
    const Contents first = read_back(*log);
    check_against_ledger(first);
    log.reset();
    lines = 0;
    log = reopen(lines);
    if (read_back(*log) != first || lines != 0) {
      violation(totals_.unstable, "a second recovery found other contents or repaired again");
    }
    // With power: a workload cut before its retention ops (under
    // every_batch each append makes several calls) would otherwise let the
    // log, and each cycle's read-back, grow without bound.
    (void)log->enforce_retention(static_cast<std::int64_t>(ledger_.next_sequence));
  } catch (const Error& e) {
    violation(totals_.refused, std::string("recovery after the power loss: ") + e.what());
  }
  return totals_.violations() == 0;
}

}  // namespace

PowerLossTotals run_power_loss_policy(const PowerLossOptions& options, std::size_t index) {
  const FsyncPolicy policy = options.policies[index];
  const std::filesystem::path dir = options.dir / to_string(policy);
  std::filesystem::remove_all(dir);
  PolicyRun run(options, policy, dir);
  PowerLossTotals& totals = run.totals();
  while (totals.cycles < options.cycles) {
    const std::uint64_t cycle = totals.cycles++;
    if (!run.run_cycle(cycle)) {
      const CyclePlan& plan = run.last_plan();
      std::printf("power_loss_loop: policy=%s failed at cycle %llu (unsynced bytes %s per %zu B block, %d ops,"
                  " power cut at call %llu%s)\n",
                  to_string(policy), static_cast<unsigned long long>(cycle), fate_name(plan.how.unsynced),
                  plan.how.block_bytes, plan.ops, static_cast<unsigned long long>(plan.cut_after),
                  plan.cut_in_open ? " counted from the open" : " of the workload");
      break;
    }
  }
  std::printf("policy=%s cycles=%llu acknowledged=%llu durable=%llu lost=%llu phantoms=%llu duplicates=%llu"
              " refused=%llu unstable=%llu other=%llu cuts_in_open=%llu cuts_in_workload=%llu"
              " unacknowledged_kept=%llu repairs=%llu\n",
              to_string(policy), static_cast<unsigned long long>(totals.cycles),
              static_cast<unsigned long long>(totals.acknowledged), static_cast<unsigned long long>(totals.durable),
              static_cast<unsigned long long>(totals.lost), static_cast<unsigned long long>(totals.phantoms),
              static_cast<unsigned long long>(totals.duplicates), static_cast<unsigned long long>(totals.refused),
              static_cast<unsigned long long>(totals.unstable), static_cast<unsigned long long>(totals.other),
              static_cast<unsigned long long>(totals.cuts_in_open),
              static_cast<unsigned long long>(totals.cuts_in_workload),
              static_cast<unsigned long long>(totals.unacknowledged_kept),
              static_cast<unsigned long long>(totals.recovery_lines));
  for (const std::string& message : totals.messages) std::printf("  violation: %s\n", message.c_str());
  std::fflush(stdout);
  return totals;
}

}  // namespace rill::crash
