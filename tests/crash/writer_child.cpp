#include "writer_child.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "crash_models.hpp"

namespace rill::crash {
namespace {

using Clock = std::chrono::steady_clock;

// The longest a writer may take to acknowledge its first send.
constexpr std::chrono::seconds kStartLimit{20};

void violation(Findings& findings, std::string message) { note(findings, findings.other, std::move(message)); }

// Reads the writer's messages from the pipe into the ledger. A writer
// acknowledges in the order it sends: from first_sequence up, or, in the
// idempotent mode, in the order of its intents.
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
    switch (message.kind) {
      case MessageKind::ack: take_ack(message); return;
      case MessageKind::intent:
        if (message.sequence < plan_.first_sequence) ++findings_.resent;
        intents_.push_back(message.sequence);
        ledger_.sent_end = std::max(ledger_.sent_end, message.sequence + 1);
        return;
      case MessageKind::next_sequence: take_next_sequence(message); return;
    }
    violation(findings_, "writer wrote an unknown message");
  }

  void take_ack(const AckMessage& message) {
    const bool idempotent = plan_.mode == WriteMode::idempotent;
    const std::uint64_t expected =
        idempotent ? (received_ < intents_.size() ? intents_[received_] : ~std::uint64_t{0})
                   : plan_.first_sequence + received_;
    if (message.sequence != expected) {
      violation(findings_, "writer reported sequence " + std::to_string(message.sequence) + " out of order");
    }
    ++received_;
    ledger_.acknowledged.push_back(message);
    if (idempotent) check_idempotent_ack(message);
  }

  // Record g is the (g / kPartitions)-th of its partition: the producer
  // sequence and the offset must both say so.
  void check_idempotent_ack(const AckMessage& message) {
    const auto place = static_cast<std::int64_t>(message.sequence / kPartitions);
    const auto partition = static_cast<std::int32_t>(message.sequence % kPartitions);
    if (message.partition != partition || message.offset != place || message.producer_sequence != place) {
      violation(findings_, "sequence " + std::to_string(message.sequence) + " acknowledged at partition " +
                               std::to_string(message.partition) + " offset " + std::to_string(message.offset) +
                               " with producer sequence " + std::to_string(message.producer_sequence) +
                               "; due: partition " + std::to_string(partition) + ", both " +
                               std::to_string(place));
    }
    auto& known_end = ledger_.known_end[static_cast<std::size_t>(partition)];
    known_end = std::max(known_end, place + 1);
  }

  // next_sequence must be what the parent's own open of the log found. The
  // records between the last one known and that were sent but not
  // acknowledged, and the log holds them: the writer does not resend them.
  void take_next_sequence(const AckMessage& message) {
    const auto p = static_cast<std::size_t>(message.partition);
    if (message.partition < 0 || p >= ledger_.known_end.size()) {
      violation(findings_, "writer reported next_sequence of partition " + std::to_string(message.partition));
      return;
    }
    const std::int64_t end = p < ledger_.end_offsets.size() ? ledger_.end_offsets[p] : 0;
    if (message.offset != end) {
      violation(findings_, "next_sequence of partition " + std::to_string(p) + " is " +
                               std::to_string(message.offset) + ", the log ends at " + std::to_string(end));
    }
    std::int64_t& known_end = ledger_.known_end[p];
    findings_.held_unacknowledged += static_cast<std::uint64_t>(std::max<std::int64_t>(0, message.offset - known_end));
    known_end = std::max(known_end, message.offset);
  }

  int fd_;
  const WriterPlan& plan_;
  Ledger& ledger_;
  Findings& findings_;
  char buffer_[sizeof(AckMessage) * 256] = {};
  std::size_t filled_ = 0;
  std::uint64_t received_ = 0;  // acknowledgements
  std::vector<std::uint64_t> intents_;
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

}  // namespace

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
    violation(findings, "writer of cycle " + std::to_string(plan.cycle) + " ended by itself (status " +
                            std::to_string(status) + ")");
    return false;
  }
  return gone;
}

}  // namespace rill::crash
