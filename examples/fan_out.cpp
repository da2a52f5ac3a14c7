// Fan-out: one producer, three consumers in three different groups. Each
// group has its own position, so each reads every record, at its own pace.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"

namespace {

constexpr int kRecords = 10'000;

// Reads the whole topic as the only member of `group` and sums the values.
long long read_all(const rill::Node& node, const std::string& group) {
  rill::Consumer consumer(node, {.group = group, .auto_offset_reset = rill::OffsetReset::earliest});
  consumer.subscribe({"prices"});
  long long sum = 0;
  int seen = 0;
  while (seen < kRecords) {
    for (const rill::RecordView& r : consumer.poll(std::chrono::milliseconds(100))) {
      sum += std::stoll(std::string(r.value()));
      ++seen;
    }
  }
  consumer.commit();
  return sum;
}

}  // namespace

int main() {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("prices", {.partitions = 2});

  const std::vector<std::string> groups = {"audit", "risk", "dashboard"};
  std::vector<long long> sums(groups.size());
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    readers.emplace_back([&, i] { sums[i] = read_all(node, groups[i]); });
  }

  // linger > 0: records travel in batches; flush() sends the last one.
  rill::Producer producer(node, {.linger = std::chrono::microseconds(200)});
  long long expected = 0;
  std::atomic<int> failed{0};
  for (int i = 0; i < kRecords; ++i) {
    const std::string value = std::to_string(i);
    producer.send("prices", {.value = value}, [&failed](const rill::RecordMetadata&, const rill::Error* e) {
      if (e != nullptr) failed.fetch_add(1, std::memory_order_relaxed);
    });
    expected += i;
  }
  producer.flush();

  for (std::thread& t : readers) t.join();
  bool ok = failed.load() == 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    std::printf("group %-10s read %d records, sum %lld (expected %lld)\n", groups[i].c_str(),
                kRecords, sums[i], expected);
    ok = ok && sums[i] == expected;
  }
  return ok ? 0 : 1;
}
