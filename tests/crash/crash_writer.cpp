#include "crash_writer.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "crash_record.hpp"
#include "support/crash_points.hpp"
#include "rill/error.hpp"
#include "rill/node.hpp"
#include "rill/producer.hpp"

namespace rill::crash {
namespace {

void write_message(int ack_fd, const AckMessage& message) {
  if (::write(ack_fd, &message, sizeof message) != static_cast<ssize_t>(sizeof message)) {
    std::fputs("crash_loop writer: pipe write failed\n", stderr);
    ::_exit(3);
  }
}

void report(int ack_fd, const RecordMetadata& metadata, std::uint64_t sequence) {
  write_message(ack_fd, {.partition = metadata.partition, .kind = MessageKind::ack, .offset = metadata.offset,
                         .sequence = sequence, .producer_sequence = metadata.sequence});
}

// The record the writer sends as number `sequence`. The idempotent mode
// stamps cycle 0 into every value, so that a resend is the same bytes.
struct OutgoingRecord {
  std::string key;
  std::string value;
  std::int32_t partition = kAnyPartition;
};

OutgoingRecord make_record(const WriterPlan& plan, std::uint64_t sequence) {
  switch (plan.mode) {
    case WriteMode::compact: return {compact_key(sequence), record_value(plan.cycle, sequence), kAnyPartition};
    case WriteMode::idempotent:
      return {record_key(sequence), record_value(0, sequence), static_cast<std::int32_t>(sequence % kPartitions)};
    case WriteMode::plain: break;
  }
  return {record_key(sequence), record_value(plan.cycle, sequence), kAnyPartition};
}

// Which sequence numbers a writer sends, in order: [first_sequence,
// first_sequence + records), preceded in the idempotent mode by the
// resends: every earlier number whose place in its partition (g /
// kPartitions) is at or past what the log holds (`next`).
class SendOrder {
 public:
  SendOrder(const WriterPlan& plan, const std::array<std::int64_t, kPartitions>& next)
      : plan_(plan), next_(next), end_(plan.first_sequence + plan.records) {
    current_ = plan.first_sequence;
    if (plan.mode != WriteMode::idempotent) return;
    for (std::int32_t p = 0; p < kPartitions; ++p) {
      const auto first_missing = static_cast<std::uint64_t>(next[static_cast<std::size_t>(p)]) * kPartitions +
                                 static_cast<std::uint64_t>(p);
      current_ = std::min(current_, first_missing);
    }
    skip_held();
  }

  [[nodiscard]] bool done() const noexcept { return current_ >= end_; }
  [[nodiscard]] std::uint64_t current() const noexcept { return current_; }
  void advance() noexcept {
    ++current_;
    skip_held();
  }

 private:
  // Below first_sequence, numbers the partition already holds are not resent.
  void skip_held() noexcept {
    while (current_ < plan_.first_sequence &&
           static_cast<std::int64_t>(current_ / kPartitions) < next_[current_ % kPartitions]) {
      ++current_;
    }
  }

  const WriterPlan& plan_;
  std::array<std::int64_t, kPartitions> next_;
  std::uint64_t end_;
  std::uint64_t current_ = 0;
};

// Sends in SendOrder, `plan.window` at a time, reporting each record once
// its future has returned (and, in the idempotent mode, before sending it).
void produce(const WriterPlan& plan, Producer& producer, SendOrder order, int ack_fd) {
  std::vector<SendFuture> futures;
  std::vector<std::uint64_t> sequences;
  while (!order.done()) {
    futures.clear();
    sequences.clear();
    for (std::uint32_t i = 0; i < plan.window && !order.done(); ++i, order.advance()) {
      const std::uint64_t sequence = order.current();
      const OutgoingRecord record = make_record(plan, sequence);
      if (plan.mode == WriteMode::idempotent) {
        write_message(ack_fd, {.partition = record.partition, .kind = MessageKind::intent, .offset = -1,
                               .sequence = sequence, .producer_sequence = -1});
      }
      futures.push_back(producer.send(kTopic, {.key = record.key, .value = record.value,
                                               .partition = record.partition}));
      sequences.push_back(sequence);
    }
    for (std::size_t i = 0; i < futures.size(); ++i) report(ack_fd, futures[i].get(), sequences[i]);
    if (plan.pace.count() > 0 && order.current() >= plan.first_sequence + plan.pace_after) {
      std::this_thread::sleep_for(plan.pace * futures.size());
    }
  }
}

// The idempotent mode: asks the log where each partition's sequence is and
// tells the parent; zeros otherwise.
std::array<std::int64_t, kPartitions> next_sequences(const WriterPlan& plan, Producer& producer, int ack_fd) {
  std::array<std::int64_t, kPartitions> next{};
  if (plan.mode != WriteMode::idempotent) return next;
  for (std::int32_t p = 0; p < kPartitions; ++p) {
    next[static_cast<std::size_t>(p)] = producer.next_sequence(kTopic, p);
    write_message(ack_fd, {.partition = p, .kind = MessageKind::next_sequence,
                           .offset = next[static_cast<std::size_t>(p)], .sequence = 0, .producer_sequence = -1});
  }
  return next;
}

TopicOptions topic_options(const WriterPlan& plan) {
  return {.partitions = kPartitions,
          .storage = StorageKind::durable,
          .segment_bytes = kSegmentBytes,
          .retention_bytes = plan.retention ? kRetentionBytes : 0,
          .fsync = plan.policy,
          .fsync_interval = std::chrono::milliseconds(2),
          .cleanup = plan.mode == WriteMode::compact ? CleanupPolicy::compact : CleanupPolicy::retention};
}

}  // namespace

void run_writer(const WriterPlan& plan, int ack_fd) noexcept {
  if (!rill::test::arm_crash_point(plan.crash_point)) {
    std::fprintf(stderr, "crash_loop writer: bad crash point \"%s\"\n", plan.crash_point.c_str());
    ::_exit(3);
  }
  try {
    Node node = Node::open(plan.dir);
    if (!node.has_topic(kTopic)) node.create_topic(kTopic, topic_options(plan));
    const auto linger = plan.window > 1 ? std::chrono::microseconds(200) : std::chrono::microseconds(0);
    Producer producer(node, {.linger = linger,
                             .idempotence_id = plan.mode == WriteMode::idempotent ? kIdempotenceId : ""});
    const std::array<std::int64_t, kPartitions> next = next_sequences(plan, producer, ack_fd);
    produce(plan, producer, SendOrder(plan, next), ack_fd);
    // Everything was sent: wait for the kill with the node open, as a
    // process that crashes later would (its threads, the log cleaner's
    // among them, go on).
    for (;;) ::pause();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_loop writer: cycle %u: %s\n", plan.cycle, e.what());
    ::_exit(3);
  }
}

}  // namespace rill::crash
