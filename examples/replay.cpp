// Replay: a consumer group processes part of a durable topic and commits; the
// node is closed and opened again (a restart); a new member of the group
// resumes exactly after the committed offsets. Then a consumer without a
// group replays the topic from a chosen moment, found by record timestamp.
// The topic holds one order a minute, 09:00 to 10:59 UTC on 1 January 2026
// (explicit timestamps), and the replay starts at 10:30.
// Run: replay [DIR]  (DIR: a new data directory, kept afterwards; by default a
// temporary one, removed at exit)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>
#include <unistd.h>

#include "rill/rill.hpp"

namespace {

using Offsets = std::map<rill::TopicPartition, std::int64_t>;

constexpr int kOrders = 120;
constexpr int kProcessedBeforeRestart = 50;
constexpr std::int64_t kNineOClock = 1'767'258'000'000;  // 2026-01-01T09:00:00Z, in ms
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kReplayFrom = kNineOClock + 90 * kMinute;  // 10:30
const std::vector<rill::TopicPartition> kPartitions = {{"orders", 0}, {"orders", 1}};

std::string clock_time(std::int64_t timestamp_ms) {
  const std::int64_t minutes = (timestamp_ms - kNineOClock) / kMinute;
  char text[8];
  std::snprintf(text, sizeof text, "%02d:%02d", static_cast<int>(9 + minutes / 60),
                static_cast<int>(minutes % 60));
  return text;
}

// Polls until `want` records were handled (or 10 s passed); returns how many were.
template <typename Handle>
int poll_records(rill::Consumer& consumer, int want, Handle handle) {
  int handled = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (handled < want && std::chrono::steady_clock::now() < give_up) {
    for (const rill::RecordView& r : consumer.poll(std::chrono::milliseconds(100))) {
      handle(r);
      ++handled;
    }
  }
  return handled;
}

// Before the restart: write the orders, let group "shipping" process about
// kProcessedBeforeRestart of them, commit. Returns the committed offsets.
Offsets before_restart(const std::filesystem::path& dir, std::vector<rill::RecordMetadata>& sent) {
  rill::Node node = rill::Node::open(dir);
  node.create_topic("orders", {.partitions = 2,
                               .storage = rill::StorageKind::durable,
                               .segment_bytes = 64 * 1024});
  rill::Producer producer(node);
  for (int i = 0; i < kOrders; ++i) {
    const std::string customer = "customer-" + std::to_string(i % 7);
    const std::string order = "order-" + std::to_string(i);
    const std::int64_t placed_at = kNineOClock + i * kMinute;
    sent.push_back(producer.send("orders", {.key = customer, .value = order, .timestamp = placed_at}).get());
  }

  rill::Consumer shipping(node, {.group = "shipping", .auto_offset_reset = rill::OffsetReset::earliest,
                                 .max_poll_records = 10});
  shipping.subscribe({"orders"});
  Offsets next_to_process = {{kPartitions[0], 0}, {kPartitions[1], 0}};
  const int processed = poll_records(shipping, kProcessedBeforeRestart, [&](const rill::RecordView& r) {
    next_to_process[{std::string(r.topic()), r.partition()}] = r.offset() + 1;
  });
  shipping.commit();  // each partition's position: the offset after the last record returned
  std::printf("before the restart, group shipping processed %d orders and committed:", processed);
  for (const auto& [tp, offset] : next_to_process) {
    std::printf(" %s/%d@%lld", tp.topic.c_str(), tp.partition, static_cast<long long>(offset));
  }
  std::printf("\n");
  return next_to_process;
}  // the consumer, producer and node close here: the "restart"

// After the restart: a new member of the group continues at the committed offsets.
bool resume_group(const rill::Node& node, const Offsets& committed) {
  // auto_offset_reset is latest: without the commit it would read nothing.
  rill::Consumer shipping(node, {.group = "shipping"});
  shipping.subscribe({"orders"});
  int remaining = kOrders;
  for (const auto& [tp, offset] : committed) {
    remaining -= static_cast<int>(offset);
  }
  Offsets expected_next = committed;
  bool exact = true;
  const int read = poll_records(shipping, remaining, [&](const rill::RecordView& r) {
    std::int64_t& next = expected_next[{std::string(r.topic()), r.partition()}];
    exact = exact && r.offset() == next;  // no record skipped, none read twice
    next = r.offset() + 1;
  });
  for (const rill::TopicPartition& tp : kPartitions) {
    exact = exact && shipping.committed(tp) == committed.at(tp);  // as read back from the directory
  }
  std::printf("after the restart, the group resumed and read the other %d orders: %s\n", read,
              exact && read == remaining ? "exactly after the committed offsets" : "WRONG");
  return exact && read == remaining;
}

// A consumer without a group replays every order from kReplayFrom on.
bool replay_from_moment(const rill::Node& node, const std::vector<rill::RecordMetadata>& sent) {
  // Per partition, the first offset at or after the moment (or the end):
  // one past the last order before it, since timestamps grow with offsets.
  Offsets expected = {{kPartitions[0], 0}, {kPartitions[1], 0}};
  int expected_count = 0;
  for (const rill::RecordMetadata& md : sent) {
    if (md.timestamp < kReplayFrom) {
      expected[{"orders", md.partition}] = md.offset + 1;
    } else {
      ++expected_count;
    }
  }

  rill::Consumer replayer(node);
  replayer.assign(kPartitions);
  const Offsets found =
      replayer.offsets_for_times({{kPartitions[0], kReplayFrom}, {kPartitions[1], kReplayFrom}});
  bool ok = found == expected;
  for (const rill::TopicPartition& tp : kPartitions) {
    const std::int64_t offset = replayer.seek_to_timestamp(tp, kReplayFrom);
    std::printf("replay from %s: partition %d starts at offset %lld\n", clock_time(kReplayFrom).c_str(),
                tp.partition, static_cast<long long>(offset));
    ok = ok && offset == expected.at(tp);
  }
  const int read = poll_records(replayer, expected_count, [&](const rill::RecordView& r) {
    ok = ok && r.timestamp() >= kReplayFrom;
    if (r.timestamp() < kReplayFrom + 3 * kMinute) {
      std::printf("  %s %.*s (%.*s) at partition %d offset %lld\n", clock_time(r.timestamp()).c_str(),
                  static_cast<int>(r.value().size()), r.value().data(), static_cast<int>(r.key().size()),
                  r.key().data(), r.partition(), static_cast<long long>(r.offset()));
    }
  });
  std::printf("replayed %d orders from %s on (expected %d)\n", read, clock_time(kReplayFrom).c_str(),
              expected_count);
  return ok && read == expected_count;
}

}  // namespace

int main(int argc, char** argv) {
  const bool keep_dir = argc > 1;
  const std::filesystem::path dir =
      keep_dir ? std::filesystem::path(argv[1])
               : std::filesystem::temp_directory_path() / ("rill-replay-" + std::to_string(::getpid()));
  if (!keep_dir) std::filesystem::remove_all(dir);
  bool ok = false;
  try {
    std::vector<rill::RecordMetadata> sent;
    const Offsets committed = before_restart(dir, sent);
    rill::Node node = rill::Node::open(dir);
    const bool resumed = resume_group(node, committed);
    ok = resumed && replay_from_moment(node, sent);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  if (!keep_dir) std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
