// Several producer threads and a consumer group (plus a second, single-member
// group) on one topic: every record is seen exactly once per group, in
// per-partition order, while members join and leave.
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int kProducers = 3;
constexpr std::int32_t kPartitions = 4;

struct Delivery {
  std::int32_t partition;
  std::int64_t offset;
  int producer;
  int sequence;
};

// What one group saw; members append under the mutex after each poll.
struct GroupLog {
  std::mutex mutex;
  std::vector<Delivery> deliveries;
  std::set<std::int32_t> ever_owned;  // partitions some member has held
  std::atomic<std::int64_t> count{0};

  // Once every partition has had an owner, the group's cursors (owned or
  // parked between owners) hold back what it has not read.
  bool holds_all_partitions() {
    std::lock_guard lock(mutex);
    return ever_owned.size() == static_cast<std::size_t>(kPartitions);
  }
};

void parse(std::string_view value, int& producer, int& sequence) {
  const auto colon = value.find(':');
  producer = std::stoi(std::string(value.substr(0, colon)));
  sequence = std::stoi(std::string(value.substr(colon + 1)));
}

// A group member: polls, records what it got, commits after each poll (so a
// partition that moves resumes exactly after what was processed).
void run_member(rill::Node& node, const std::string& group, GroupLog& log, std::int64_t total,
                std::atomic<bool>& leave_early) {
  rill::Consumer consumer(node, {.group = group, .auto_offset_reset = rill::OffsetReset::earliest,
                                 .max_poll_records = 256});
  consumer.subscribe({"stress"});
  std::map<std::int32_t, std::int64_t> last_offset;
  while (log.count.load() < total) {
    if (leave_early.load()) return;  // the destructor leaves the group
    const auto records = consumer.poll(10ms);
    {
      std::lock_guard lock(log.mutex);
      for (const rill::TopicPartition& tp : consumer.assignment()) log.ever_owned.insert(tp.partition);
    }
    if (records.empty()) continue;
    std::vector<Delivery> got;
    for (const rill::RecordView& r : records) {
      Delivery d{r.partition(), r.offset(), 0, 0};
      parse(r.value(), d.producer, d.sequence);
      got.push_back(d);
    }
    {
      std::lock_guard lock(log.mutex);
      log.deliveries.insert(log.deliveries.end(), got.begin(), got.end());
    }
    consumer.commit();
    log.count.fetch_add(static_cast<std::int64_t>(got.size()));
  }
}

void check_exactly_once_in_order(GroupLog& log, std::int64_t total) {
  std::lock_guard lock(log.mutex);
  REQUIRE(static_cast<std::int64_t>(log.deliveries.size()) == total);
  std::map<std::int32_t, std::vector<const Delivery*>> by_partition;
  for (const Delivery& d : log.deliveries) by_partition[d.partition].push_back(&d);
  std::int64_t seen = 0;
  for (auto& [partition, list] : by_partition) {
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    std::map<int, int> last_sequence;
    for (std::size_t i = 0; i < list.size(); ++i) {
      CHECK(list[i]->offset == static_cast<std::int64_t>(i));  // dense, each exactly once
      const auto it = last_sequence.find(list[i]->producer);
      if (it != last_sequence.end()) CHECK(list[i]->sequence > it->second);  // producer order kept
      last_sequence[list[i]->producer] = list[i]->sequence;
    }
    seen += static_cast<std::int64_t>(list.size());
  }
  CHECK(seen == total);
}

}  // namespace

TEST_CASE("topic stress: producers and a rebalancing group see every record exactly once, in order",
          "[stress][topic]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("stress", {.partitions = kPartitions, .capacity_bytes = 128 * 1024});
  const int per_producer = static_cast<int>(20000 * rill::test::scale());
  const std::int64_t total = std::int64_t{kProducers} * per_producer;

  GroupLog billing, audit;
  std::atomic<bool> stay{false};
  std::atomic<bool> leave{false};
  std::vector<std::thread> members;
  for (int m = 0; m < 3; ++m) {
    members.emplace_back([&, m] { run_member(node, "billing", billing, total, m == 2 ? leave : stay); });
  }
  members.emplace_back([&] { run_member(node, "audit", audit, total, stay); });
  // Records sent before a group has cursors are not kept for it (earliest
  // means the oldest retained record), so start once both groups hold on.
  while (!billing.holds_all_partitions() || !audit.holds_all_partitions()) std::this_thread::sleep_for(1ms);

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      rill::Producer producer(node, {.batch_bytes = 1024, .linger = std::chrono::microseconds(p * 100)});
      for (int i = 0; i < per_producer; ++i) {
        const std::string key = std::to_string(p) + "/" + std::to_string(i % 13);
        const std::string value = std::to_string(p) + ":" + std::to_string(i);
        (void)producer.send("stress", {.key = key, .value = value});
        if (i == per_producer / 2 && p == 0) leave.store(true);  // one member leaves midway
      }
      producer.flush();
    });
  }
  // A late member joins while records flow.
  std::this_thread::sleep_for(20ms);
  members.emplace_back([&] { run_member(node, "billing", billing, total, stay); });

  for (auto& t : producers) t.join();
  for (auto& t : members) t.join();
  check_exactly_once_in_order(billing, total);
  check_exactly_once_in_order(audit, total);
}

TEST_CASE("topic stress: an overwrite topic accounts for every record as read or lost", "[stress][topic]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("lossy", {.capacity_bytes = 64 * 1024, .full_policy = rill::FullPolicy::overwrite});
  const std::int64_t total = 200000 * static_cast<std::int64_t>(rill::test::scale());
  rill::Consumer consumer(node, {.auto_offset_reset = rill::OffsetReset::earliest, .max_poll_records = 64});
  consumer.assign({{"lossy", 0}});

  std::thread producer_thread([&] {
    rill::Producer producer(node, {.batch_bytes = 2048, .linger = std::chrono::microseconds(50)});
    for (std::int64_t i = 0; i < total; ++i) (void)producer.send("lossy", {.value = std::to_string(i)});
  });
  std::int64_t expected = 0, read = 0, lost = 0, mismatches = 0;
  while (expected < total) {
    const auto records = consumer.poll(10ms);
    for (const rill::LossEvent& e : records.losses()) {
      if (e.first_offset != expected) ++mismatches;
      expected = e.first_offset + e.count;
      lost += e.count;
    }
    for (const rill::RecordView& r : records) {
      // A torn copy would show up as a wrong offset or a wrong value.
      if (r.offset() != expected || r.value() != std::to_string(expected)) ++mismatches;
      expected = r.offset() + 1;
      ++read;
    }
  }
  producer_thread.join();
  CHECK(mismatches == 0);
  CHECK(read + lost == total);
  CHECK(read > 0);
}
