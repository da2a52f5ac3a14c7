#include "crash_cycle.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "crash_checker.hpp"
#include "crash_writer.hpp"

namespace rill::crash {
namespace {

using Clock = std::chrono::steady_clock;

// When the parent kills the writer: after this many acknowledgements or
// this delay, whichever comes first.
// The delay counts from the fork when `early` (so that some kills land in
// open, recovery or create_topic), else from the first acknowledgement (so
// that a slow start, as under sanitizers, does not turn every kill early).
struct KillPlan {
  std::uint64_t after_acks = 0;
  std::chrono::microseconds delay{0};
  bool early = false;
};

// The longest a writer may take to acknowledge its first send.
constexpr std::chrono::seconds kStartLimit{20};

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

// Reads AckMessages from the pipe, appending them to the ledger and checking
// that a writer reports its sequence numbers in order.
class AckReader {
 public:
  AckReader(int fd, const WriterPlan& plan, Ledger& ledger, Findings& findings)
      : fd_(fd), plan_(plan), ledger_(ledger), findings_(findings) {}

  // Reads what the pipe holds (blocking until something arrives); false at end of file.
  bool read_some() {
    const ssize_t n = ::read(fd_, buffer_ + filled_, sizeof buffer_ - filled_);
    if (n <= 0) return n < 0 && errno == EINTR;
    filled_ += static_cast<std::size_t>(n);
    std::size_t used = 0;
    for (; filled_ - used >= sizeof(AckMessage); used += sizeof(AckMessage)) {
      AckMessage message;
      std::memcpy(&message, buffer_ + used, sizeof message);
      take(message);
    }
    std::memmove(buffer_, buffer_ + used, filled_ - used);
    filled_ -= used;
    return true;
  }

  [[nodiscard]] std::uint64_t received() const noexcept { return received_; }

 private:
  void take(const AckMessage& message) {
    if (message.sequence != plan_.first_sequence + received_) {
      ++findings_.other;
      findings_.messages.push_back("writer reported sequence " + std::to_string(message.sequence) +
                                   " out of order");
    }
    ++received_;
    ledger_.acknowledged.push_back(message);
  }

  int fd_;
  const WriterPlan& plan_;
  Ledger& ledger_;
  Findings& findings_;
  char buffer_[sizeof(AckMessage) * 256] = {};
  std::size_t filled_ = 0;
  std::uint64_t received_ = 0;
};

// Reads acknowledgements until the kill plan says stop or the writer dies;
// true when the writer is gone (it closed the pipe: it died by itself).
bool await_kill_moment(int fd, AckReader& reader, const KillPlan& kill) {
  const Clock::time_point start = Clock::now();
  Clock::time_point deadline = kill.early ? start + kill.delay : start + kStartLimit;
  bool counting = kill.early;
  while (reader.received() < kill.after_acks) {
    if (!counting && reader.received() > 0) {
      counting = true;
      deadline = Clock::now() + kill.delay;
    }
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    const timespec timeout{.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000),
                           .tv_nsec = static_cast<long>(left.count() % 1'000'000'000)};
    pollfd readable{.fd = fd, .events = POLLIN, .revents = 0};
    const int ready = ::ppoll(&readable, 1, &timeout, nullptr);
    if (ready > 0 && !reader.read_some()) return true;  // the writer is gone
  }
  return false;
}

// Forks the writer, kills it as planned, and collects every acknowledgement
// it managed to report. Adds a violation if the writer died otherwise than
// by SIGKILL. Returns true when it killed itself (at its crash point).
bool run_writer_child(const WriterPlan& plan, const KillPlan& kill, Ledger& ledger, Findings& findings) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    ::close(fds[0]);
    run_writer(plan, fds[1]);
  }
  ::close(fds[1]);
  AckReader reader(fds[0], plan, ledger, findings);
  const bool gone = await_kill_moment(fds[0], reader, kill);
  if (!gone) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  while (reader.read_some()) {
  }
  ::close(fds[0]);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    ++findings.other;
    findings.messages.push_back("writer of cycle " + std::to_string(plan.cycle) + " ended by itself (status " +
                                std::to_string(status) + ")");
    return false;
  }
  return gone;
}

// --points: the writer dies at its crash point, or is killed once it has
// sent everything.
void arm_writer(const CrashPointChoice& point, std::mt19937_64& random, WriterPlan& plan, KillPlan& kill) {
  plan.crash_point = std::string(point.name) + ":" + std::to_string(1 + random() % point.max_pass);
  plan.retention = true;
  plan.records = std::max(plan.records, point.records);
  kill = KillPlan{.after_acks = plan.records, .delay = std::chrono::seconds(5), .early = false};
}

void print_points(const std::uint64_t (&armed)[kCrashPointCount], const std::uint64_t (&fired)[kCrashPointCount]) {
  std::printf("  crash points:");
  for (std::size_t i = 0; i < kCrashPointCount; ++i) {
    std::printf(" %s=%llu/%llu", kCrashPoints[i].name, static_cast<unsigned long long>(fired[i]),
                static_cast<unsigned long long>(armed[i]));
  }
  std::printf(" (fired/armed)\n");
}

std::uint64_t policy_seed(std::uint64_t seed, FsyncPolicy policy) {
  return seed ^ (0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(policy) + 1));
}

void print_summary(FsyncPolicy policy, std::uint64_t cycles, const Ledger& ledger, const Findings& total) {
  std::printf("policy=%s cycles=%llu acknowledged=%zu lost=%llu phantoms=%llu duplicates=%llu other=%llu"
              " unacknowledged_kept=%llu tails_cut=%llu\n",
              to_string(policy), static_cast<unsigned long long>(cycles), ledger.acknowledged.size(),
              static_cast<unsigned long long>(total.lost), static_cast<unsigned long long>(total.phantoms),
              static_cast<unsigned long long>(total.duplicates), static_cast<unsigned long long>(total.other),
              static_cast<unsigned long long>(total.unacknowledged_kept),
              static_cast<unsigned long long>(total.recovery_lines));
  std::fflush(stdout);
}

}  // namespace

std::optional<FsyncPolicy> policy_from_name(std::string_view name) noexcept {
  for (FsyncPolicy policy : {FsyncPolicy::none, FsyncPolicy::interval, FsyncPolicy::every_batch}) {
    if (name == to_string(policy)) return policy;
  }
  return std::nullopt;
}

bool run_policy(const LoopOptions& options, std::size_t index) {
  const FsyncPolicy policy = options.policies[index];
  const std::filesystem::path dir = options.dir / to_string(policy);
  std::filesystem::remove_all(dir);
  std::mt19937_64 random(policy_seed(options.seed, policy));
  std::uniform_int_distribution<std::uint64_t> acks(0, options.records_per_cycle);
  std::uniform_int_distribution<std::int64_t> delay_us(0, 30'000);
  std::uniform_int_distribution<std::uint32_t> window(0, 31);  // 0-16: one send at a time
  Ledger ledger;
  Findings total;
  std::uint64_t cycle = 0;
  std::uint64_t points_armed[kCrashPointCount] = {};
  std::uint64_t points_fired[kCrashPointCount] = {};
  for (std::uint64_t next_sequence = 0; cycle < options.cycles; ++cycle) {
    WriterPlan plan{.dir = dir, .policy = policy, .cycle = static_cast<std::uint32_t>(cycle),
                    .first_sequence = next_sequence, .records = options.records_per_cycle,
                    .window = std::max<std::uint32_t>(window(random), 16) - 15, .crash_point = {},
                    .retention = false};
    KillPlan kill{.after_acks = acks(random), .delay = std::chrono::microseconds(delay_us(random)),
                  .early = random() % 8 == 0};
    const std::size_t point = cycle % kCrashPointCount;
    if (options.points) {
      arm_writer(kCrashPoints[point], random, plan, kill);
      ++points_armed[point];
    }
    Findings findings;
    const std::size_t acknowledged_before = ledger.acknowledged.size();
    if (run_writer_child(plan, kill, ledger, findings) && options.points) ++points_fired[point];
    const std::uint64_t reported = ledger.acknowledged.size() - acknowledged_before;
    next_sequence = plan.first_sequence + reported + plan.window;
    ledger.cycles.push_back({.first = plan.first_sequence, .acknowledged_end = plan.first_sequence + reported,
                             .bound = next_sequence});
    findings.add(check_directory(dir, ledger, options.points));
    total.add(findings);
    if (findings.violations() != 0) {
      ++cycle;
      break;
    }
  }
  print_summary(policy, cycle, ledger, total);
  if (options.points) print_points(points_armed, points_fired);
  for (const std::string& message : total.messages) std::printf("  violation: %s\n", message.c_str());
  if (total.violations() == 0) return true;
  std::printf("crash_loop: policy=%s failed at cycle %llu; reproduce with: crash_loop --policy %s --cycles %llu"
              " --records-per-cycle %llu --seed %llu%s\n",
              to_string(policy), static_cast<unsigned long long>(cycle - 1), to_string(policy),
              static_cast<unsigned long long>(cycle), static_cast<unsigned long long>(options.records_per_cycle),
              static_cast<unsigned long long>(options.seed), options.points ? " --points" : "");
  return false;
}

}  // namespace rill::crash
