#include "crash_cycle.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <random>
#include <string>

#include "crash_checker.hpp"
#include "crash_writer.hpp"
#include "writer_child.hpp"

namespace rill::crash {
namespace {

// The crash points of --points, in turn, each armed for a random pass in
// [1, max_pass]: rolls and retention runs are rare, appends frequent. A
// writer armed in retention sends `records` (at least): the checker's own
// opens run retention too, so the writer must fill a segment of each
// partition to reach its own retention run.
struct CrashPointChoice {
  const char* name;
  std::uint64_t max_pass;
  std::uint64_t records;
};
constexpr CrashPointChoice kCrashPoints[] = {
    {"log.mid_roll", 1, 1200}, {"segment.mid_append", 100, 0}, {"log.mid_retention", 1, 2000}};
constexpr std::size_t kCrashPointCount = std::size(kCrashPoints);

// --compact: a writer arms the point before a compacted copy is renamed
// into place, for a random pass in [1, max_pass]. The node's cleaner checks
// its partitions every 200 ms and compacts those that rolled a segment
// since their last pass, one partition after the other; each pass renames
// one copy per closed segment that holds a superseded record, and syncs it.
// The writer sends `records` at once (one segment and a half per
// partition), so the first check finds several, then a steady trickle
// (kCompactionPace per record), so that segments keep rolling and the
// later checks find more, until the point fires; it is killed `wait` after
// its first acknowledgement if the point has not fired.
// Its window is at least kCompactionWindow: under every_batch, single sends
// (one fsync each) would roll too few segments for the cleaner.
// Every kUnarmedEvery-th writer arms nothing and is killed at a random
// moment from kUnarmedKill on: its passes mostly run to the end (the
// partitions the cleaner visits last are compacted too, and the log does
// not grow without bound), and a few are cut anywhere.
constexpr CrashPointChoice kCompactionPoint{"cleaner.before_rename", 8, 1200};
constexpr std::chrono::milliseconds kCompactionWait{1500};
constexpr std::chrono::microseconds kCompactionPace{1000};
constexpr std::uint32_t kCompactionWindow = 8;
constexpr std::uint64_t kUnarmedEvery = 3;
constexpr std::chrono::milliseconds kUnarmedKill{200};
constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max() / 2;

// Fired / armed counts of the crash points a loop arms.
struct PointTally {
  const char* name;
  std::uint64_t armed = 0;
  std::uint64_t fired = 0;
};

void arm_point(const CrashPointChoice& point, std::mt19937_64& random, WriterPlan& plan) {
  plan.crash_point = std::string(point.name) + ":" + std::to_string(1 + random() % point.max_pass);
  plan.records = std::max(plan.records, point.records);
}

// The writer of --compact: see kCompactionPoint. Returns whether it is armed.
bool arm_compaction(std::uint64_t cycle, std::mt19937_64& random, WriterPlan& plan, KillPlan& kill) {
  plan.pace_after = std::max(plan.records, kCompactionPoint.records);
  plan.pace = kCompactionPace;
  plan.records = kUnbounded;
  plan.window = std::max(plan.window, kCompactionWindow);
  kill = KillPlan{.after_acks = kUnbounded, .delay = kCompactionWait, .early = false};
  if (cycle % kUnarmedEvery != kUnarmedEvery - 1) {
    plan.crash_point = std::string(kCompactionPoint.name) + ":" +
                       std::to_string(1 + random() % kCompactionPoint.max_pass);
    return true;
  }
  const auto span = static_cast<std::uint64_t>((kCompactionWait - kUnarmedKill).count());
  kill.delay = kUnarmedKill + std::chrono::milliseconds(random() % span);
  return false;
}

// --points: the writer dies at its crash point, or is killed once it has
// sent everything. --compact: see arm_compaction. Returns the index of the
// point armed in points_of(), or kNotArmed.
constexpr std::size_t kNotArmed = ~std::size_t{0};
std::size_t arm_writer(const LoopOptions& options, std::uint64_t cycle, std::mt19937_64& random, WriterPlan& plan,
                       KillPlan& kill) {
  if (options.mode == WriteMode::compact) return arm_compaction(cycle, random, plan, kill) ? 0 : kNotArmed;
  const std::size_t point = cycle % kCrashPointCount;
  arm_point(kCrashPoints[point], random, plan);
  plan.retention = true;
  kill = KillPlan{.after_acks = plan.records, .delay = std::chrono::seconds(5), .early = false};
  return point;
}

std::vector<PointTally> points_of(const LoopOptions& options) {
  if (options.mode == WriteMode::compact) return {{kCompactionPoint.name}};
  std::vector<PointTally> tally;
  if (options.points) {
    for (const CrashPointChoice& point : kCrashPoints) tally.push_back({point.name});
  }
  return tally;
}

void print_points(const std::vector<PointTally>& tally) {
  if (tally.empty()) return;
  std::printf("  crash points:");
  for (const PointTally& point : tally) {
    std::printf(" %s=%llu/%llu", point.name, static_cast<unsigned long long>(point.fired),
                static_cast<unsigned long long>(point.armed));
  }
  std::printf(" (fired/armed)\n");
}

std::uint64_t policy_seed(std::uint64_t seed, FsyncPolicy policy) {
  return seed ^ (0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(policy) + 1));
}

// The summary line; the mode's own counts go at its end.
void print_summary(const LoopOptions& options, FsyncPolicy policy, std::uint64_t cycles, std::size_t acknowledged,
                   const Findings& total, const std::vector<PointTally>& tally) {
  std::printf("policy=%s cycles=%llu acknowledged=%zu lost=%llu phantoms=%llu duplicates=%llu other=%llu"
              " unacknowledged_kept=%llu tails_cut=%llu",
              to_string(policy), static_cast<unsigned long long>(cycles), acknowledged,
              static_cast<unsigned long long>(total.lost), static_cast<unsigned long long>(total.phantoms),
              static_cast<unsigned long long>(total.duplicates), static_cast<unsigned long long>(total.other),
              static_cast<unsigned long long>(total.unacknowledged_kept),
              static_cast<unsigned long long>(total.recovery_lines));
  if (options.mode == WriteMode::compact) {
    std::printf(" removed=%llu fired=%llu/%llu", static_cast<unsigned long long>(total.removed),
                static_cast<unsigned long long>(tally.front().fired),
                static_cast<unsigned long long>(tally.front().armed));
  } else if (options.mode == WriteMode::idempotent) {
    std::printf(" resent=%llu held_unacknowledged=%llu", static_cast<unsigned long long>(total.resent),
                static_cast<unsigned long long>(total.held_unacknowledged));
  }
  std::printf("\n");
  std::fflush(stdout);
}

// The random draws of one cycle.
struct CycleDraws {
  std::mt19937_64 random;
  std::uniform_int_distribution<std::uint64_t> acks;
  std::uniform_int_distribution<std::int64_t> delay_us{0, 30'000};
  std::uniform_int_distribution<std::uint32_t> window{0, 31};  // 0-16: one send at a time
};

// Plans one writer: where it starts, how it sends, when it is killed.
WriterPlan plan_cycle(const LoopOptions& options, const std::filesystem::path& dir, FsyncPolicy policy,
                      std::uint64_t cycle, std::uint64_t next_sequence, CycleDraws& draws, KillPlan& kill) {
  WriterPlan plan{.dir = dir, .policy = policy, .cycle = static_cast<std::uint32_t>(cycle),
                  .first_sequence = next_sequence, .records = options.records_per_cycle,
                  .window = std::max<std::uint32_t>(draws.window(draws.random), 16) - 15, .crash_point = {},
                  .retention = false, .mode = options.mode, .pace_after = 0, .pace = {}};
  kill = KillPlan{.after_acks = draws.acks(draws.random),
                  .delay = std::chrono::microseconds(draws.delay_us(draws.random)),
                  .early = draws.random() % 8 == 0};
  return plan;
}

}  // namespace

const char* mode_flag(const LoopOptions& options) noexcept {
  if (options.mode == WriteMode::compact) return " --compact";
  if (options.mode == WriteMode::idempotent) return " --idempotent";
  return options.points ? " --points" : "";
}

std::optional<FsyncPolicy> policy_from_name(std::string_view name) noexcept {
  for (FsyncPolicy policy : {FsyncPolicy::none, FsyncPolicy::interval, FsyncPolicy::every_batch}) {
    if (name == to_string(policy)) return policy;
  }
  return std::nullopt;
}

namespace {

// One policy's loop: what carries from one cycle to the next.
struct PolicyRun {
  const LoopOptions& options;
  FsyncPolicy policy;
  std::filesystem::path dir;
  CycleDraws draws;
  std::vector<PointTally> tally;
  Ledger ledger;
  Findings total;
  std::uint64_t next_sequence = 0;  // the first sequence the next writer may use
  std::size_t acknowledged_earlier = 0;  // by the writers of earlier directories
};

// Starts over in an empty directory. The ledger keeps its per-cycle ranges
// (records name their cycle) and sequences go on, except in the idempotent
// mode, where a record's sequence is its place in its partition.
void start_afresh(PolicyRun& run) {
  run.acknowledged_earlier += run.ledger.acknowledged.size();
  std::vector<CycleRange> cycles = std::move(run.ledger.cycles);
  run.ledger = Ledger{};
  run.ledger.cycles = std::move(cycles);
  if (run.options.mode == WriteMode::idempotent) run.next_sequence = 0;
  std::filesystem::remove_all(run.dir);
}

// Plans and runs one writer, then checks the directory; returns what this
// cycle found.
Findings run_cycle(PolicyRun& run, std::uint64_t cycle) {
  const LoopOptions& options = run.options;
  if (options.mode == WriteMode::idempotent) run.next_sequence = run.ledger.sent_end;
  KillPlan kill;
  WriterPlan plan = plan_cycle(options, run.dir, run.policy, cycle, run.next_sequence, run.draws, kill);
  const std::size_t point = run.tally.empty() ? kNotArmed : arm_writer(options, cycle, run.draws.random, plan, kill);
  const bool armed = point != kNotArmed;
  if (armed) ++run.tally[point].armed;
  Findings findings;
  const std::size_t acknowledged_before = run.ledger.acknowledged.size();
  if (run_writer_child(plan, kill, run.ledger, findings) && armed) ++run.tally[point].fired;
  const std::uint64_t reported = run.ledger.acknowledged.size() - acknowledged_before;
  run.next_sequence = plan.first_sequence + reported + plan.window;
  run.ledger.cycles.push_back({.first = plan.first_sequence, .acknowledged_end = plan.first_sequence + reported,
                               .bound = run.next_sequence});
  findings.add(check_directory(run.dir, run.ledger, options.mode, options.points));
  run.ledger.end_offsets = findings.end_offsets;
  return findings;
}

}  // namespace

bool run_policy(const LoopOptions& options, std::size_t index) {
  const FsyncPolicy policy = options.policies[index];
  PolicyRun run{.options = options, .policy = policy, .dir = options.dir / to_string(policy),
                .draws = {.random = std::mt19937_64(policy_seed(options.seed, policy)),
                          .acks = std::uniform_int_distribution<std::uint64_t>(0, options.records_per_cycle)},
                .tally = points_of(options), .ledger = {}, .total = {}, .next_sequence = 0};
  std::filesystem::remove_all(run.dir);
  std::uint64_t cycle = 0;
  while (cycle < options.cycles) {
    if (options.fresh_every != 0 && cycle != 0 && cycle % options.fresh_every == 0) start_afresh(run);
    const Findings findings = run_cycle(run, cycle++);
    run.total.add(findings);
    if (findings.violations() != 0) break;
  }
  const Findings& total = run.total;
  const std::vector<PointTally>& tally = run.tally;
  print_summary(options, policy, cycle, run.acknowledged_earlier + run.ledger.acknowledged.size(), total, tally);
  print_points(tally);
  for (const std::string& message : total.messages) std::printf("  violation: %s\n", message.c_str());
  if (total.violations() == 0) return true;
  std::printf("crash_loop: policy=%s failed at cycle %llu; reproduce with: crash_loop --policy %s --cycles %llu"
              " --records-per-cycle %llu --fresh-every %llu --seed %llu%s\n",
              to_string(policy), static_cast<unsigned long long>(cycle - 1), to_string(policy),
              static_cast<unsigned long long>(cycle), static_cast<unsigned long long>(options.records_per_cycle),
              static_cast<unsigned long long>(options.fresh_every), static_cast<unsigned long long>(options.seed),
              mode_flag(options));
  return false;
}

}  // namespace rill::crash
