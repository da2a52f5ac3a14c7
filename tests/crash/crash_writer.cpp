#include "crash_writer.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "crash_record.hpp"
#include "log/crash_point.hpp"
#include "rill/error.hpp"
#include "rill/node.hpp"
#include "rill/producer.hpp"

namespace rill::crash {
namespace {

void report(int ack_fd, const RecordMetadata& metadata, std::uint64_t sequence) {
  const AckMessage message{.partition = metadata.partition, .reserved = 0, .offset = metadata.offset,
                           .sequence = sequence};
  if (::write(ack_fd, &message, sizeof message) != static_cast<ssize_t>(sizeof message)) {
    std::fputs("crash_loop writer: pipe write failed\n", stderr);
    ::_exit(3);
  }
}

// Sends `plan.records` records, `plan.window` at a time, reporting each one
// once its future has returned.
void produce(const WriterPlan& plan, Producer& producer, int ack_fd) {
  std::vector<SendFuture> futures;
  std::vector<std::uint64_t> sequences;
  std::uint64_t sequence = plan.first_sequence;
  const std::uint64_t end = plan.first_sequence + plan.records;
  while (sequence < end) {
    futures.clear();
    sequences.clear();
    for (std::uint32_t i = 0; i < plan.window && sequence < end; ++i, ++sequence) {
      const std::string key = record_key(sequence);
      const std::string value = record_value(plan.cycle, sequence);
      futures.push_back(producer.send(kTopic, {.key = key, .value = value}));
      sequences.push_back(sequence);
    }
    for (std::size_t i = 0; i < futures.size(); ++i) report(ack_fd, futures[i].get(), sequences[i]);
  }
}

}  // namespace

void run_writer(const WriterPlan& plan, int ack_fd) noexcept {
  if (!log::detail::arm_crash_point(plan.crash_point)) {
    std::fprintf(stderr, "crash_loop writer: bad crash point \"%s\"\n", plan.crash_point.c_str());
    ::_exit(3);
  }
  try {
    Node node = Node::open(plan.dir);
    if (!node.has_topic(kTopic)) {
      node.create_topic(kTopic, {.partitions = kPartitions,
                                 .storage = StorageKind::durable,
                                 .segment_bytes = kSegmentBytes,
                                 .retention_bytes = plan.retention ? kRetentionBytes : 0,
                                 .fsync = plan.policy,
                                 .fsync_interval = std::chrono::milliseconds(2)});
    }
    const auto linger = plan.window > 1 ? std::chrono::microseconds(200) : std::chrono::microseconds(0);
    Producer producer(node, {.linger = linger});
    produce(plan, producer, ack_fd);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_loop writer: cycle %u: %s\n", plan.cycle, e.what());
    ::_exit(3);
  }
  // Everything was sent: wait for the kill, as a process that crashes later would.
  for (;;) ::pause();
}

}  // namespace rill::crash
