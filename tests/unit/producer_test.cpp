// Producer: offsets, futures, callbacks, try_send, batching, limits, threads.
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;

namespace {

using rill::test::error_of;

// A consumer that holds every partition of `topic` at its start: under
// block / fail it keeps the partitions from dropping anything.
rill::Consumer holder(rill::Node& node, const std::string& topic, std::int32_t partitions) {
  rill::Consumer c(node, {.auto_offset_reset = rill::OffsetReset::earliest});
  std::vector<rill::TopicPartition> tps;
  for (std::int32_t p = 0; p < partitions; ++p) tps.push_back({topic, p});
  c.assign(tps);
  return c;
}

// Every record of partition `p`, in order, as values.
std::vector<std::string> read_values(rill::Node& node, const std::string& topic, std::int32_t p) {
  rill::Consumer c(node, {.auto_offset_reset = rill::OffsetReset::earliest, .max_poll_records = 100000});
  c.assign({{topic, p}});
  std::vector<std::string> values;
  std::int64_t expected_offset = 0;
  for (;;) {
    const auto records = c.poll(0ms);
    if (records.empty()) return values;
    for (const rill::RecordView& r : records) {
      CHECK(r.offset() == expected_offset++);
      values.emplace_back(r.value());
    }
  }
}

}  // namespace

TEST_CASE("producer: send returns dense offsets per partition", "[producer]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 2});
  rill::Producer producer(node);
  for (std::int64_t i = 0; i < 5; ++i) {
    const auto md = producer.send("t", {.value = "a", .partition = 0}).get();
    CHECK(md.partition == 0);
    CHECK(md.offset == i);
    CHECK(md.timestamp > 0);
  }
  const auto md = producer.send("t", {.value = "b", .timestamp = 1234, .partition = 1}).get();
  CHECK(md.offset == 0);
  CHECK(md.timestamp == 1234);
  CHECK(read_values(node, "t", 0) == std::vector<std::string>(5, "a"));
}

TEST_CASE("producer: callbacks report each record's offset, their exceptions are contained", "[producer]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t");
  rill::Producer producer(node, {.linger = 10s});
  std::vector<std::int64_t> offsets;
  for (int i = 0; i < 4; ++i) {
    producer.send("t", {.value = "v"}, [&](const rill::RecordMetadata& md, const rill::Error* error) {
      CHECK(error == nullptr);
      offsets.push_back(md.offset);
      if (md.offset == 1) throw std::runtime_error("a callback that throws");
    });
  }
  CHECK(offsets.empty());  // still lingering
  producer.flush();
  CHECK(offsets == std::vector<std::int64_t>{0, 1, 2, 3});
}

TEST_CASE("producer: lingering batches are sent by flush, get, or the timer", "[producer]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t");
  SECTION("flush") {
    rill::Producer producer(node, {.linger = 10s});
    std::vector<rill::SendFuture> futures;
    for (int i = 0; i < 3; ++i) futures.push_back(producer.send("t", {.value = "v"}));
    for (auto& f : futures) CHECK_FALSE(f.ready());
    CHECK(node.describe_topic("t").partitions[0].end_offset == 0);
    producer.flush();
    for (std::size_t i = 0; i < futures.size(); ++i) {
      CHECK(futures[i].ready());
      CHECK(futures[i].get().offset == static_cast<std::int64_t>(i));
    }
  }
  SECTION("get sends its own batch") {
    rill::Producer producer(node, {.linger = 10s});
    auto first = producer.send("t", {.value = "v"});
    auto second = producer.send("t", {.value = "v"});
    CHECK(second.get().offset == 1);
    CHECK(first.ready());
    CHECK(first.get().offset == 0);
  }
  SECTION("the linger timer") {
    rill::Producer producer(node, {.linger = 2ms});
    auto f = producer.send("t", {.value = "v"});
    for (int i = 0; i < 2000 && !f.ready(); ++i) std::this_thread::sleep_for(1ms);
    CHECK(f.ready());
    CHECK(f.get().offset == 0);
  }
  SECTION("a full batch is sent without waiting for linger") {
    rill::Producer producer(node, {.batch_bytes = 1024, .linger = 10s});
    const std::string value(100, 'x');
    std::vector<rill::SendFuture> futures;
    for (int i = 0; i < 30; ++i) futures.push_back(producer.send("t", {.value = value}));
    CHECK(futures.front().ready());
    CHECK(node.describe_topic("t").partitions[0].end_offset > 0);
    producer.flush();
    for (std::size_t i = 0; i < futures.size(); ++i) CHECK(futures[i].get().offset == static_cast<std::int64_t>(i));
  }
  SECTION("dropping futures is fine, and the producer's destructor flushes") {
    {
      rill::Producer producer(node, {.linger = 10s});
      for (int i = 0; i < 10; ++i) (void)producer.send("t", {.value = "v"});
    }
    CHECK(node.describe_topic("t").partitions[0].end_offset == 10);
  }
}

TEST_CASE("producer: try_send reports ok, full, too_large, not_found and closed", "[producer]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("small", {.capacity_bytes = 64 * 1024, .full_policy = rill::FullPolicy::fail,
                              .max_record_bytes = 2000});
  rill::Consumer hold = holder(node, "small", 1);
  rill::Producer producer(node);
  rill::RecordMetadata md;
  CHECK(producer.try_send("small", {.value = "first"}, &md) == rill::SendStatus::ok);
  CHECK(md.offset == 0);
  CHECK(md.partition == 0);
  const std::string value(1500, 'x');
  rill::SendStatus status = rill::SendStatus::ok;
  int accepted = 1;
  while ((status = producer.try_send("small", {.value = value})) == rill::SendStatus::ok) ++accepted;
  CHECK(status == rill::SendStatus::full);
  CHECK(accepted > 20);
  CHECK(node.describe_topic("small").partitions[0].end_offset == accepted);
  CHECK(producer.try_send("small", {.value = std::string(3000, 'x')}) == rill::SendStatus::too_large);
  CHECK(producer.try_send("nope", {.value = "v"}) == rill::SendStatus::not_found);
  // The reader moves on: room again.
  (void)hold.poll(0ms);
  (void)hold.poll(0ms);
  CHECK(producer.try_send("small", {.value = "again"}) == rill::SendStatus::ok);
  producer.close();
  CHECK(producer.try_send("small", {.value = "v"}) == rill::SendStatus::closed);
  CHECK(error_of([&] { (void)producer.send("small", {.value = "v"}); }) == rill::ErrorCode::closed);
}

TEST_CASE("producer: a full partition fails the send's future (fail) or times it out (block)", "[producer]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("fail", {.capacity_bytes = 64 * 1024, .full_policy = rill::FullPolicy::fail});
  node.create_topic("block", {.capacity_bytes = 64 * 1024, .block_timeout = 20ms});
  rill::Consumer hold_fail = holder(node, "fail", 1);
  rill::Consumer hold_block = holder(node, "block", 1);
  rill::Producer producer(node);
  const std::string value(1000, 'x');
  for (const std::string topic : {"fail", "block"}) {
    INFO("topic " << topic);
    bool failed = false;
    for (int i = 0; i < 200 && !failed; ++i) {
      try {
        (void)producer.send(topic, {.value = value}).get();
      } catch (const rill::Error& e) {
        CHECK(e.code() == (topic == "fail" ? rill::ErrorCode::full : rill::ErrorCode::timeout));
        CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("partition 0"));
        failed = true;
      }
    }
    CHECK(failed);
  }
}

TEST_CASE("producer: records over the limit are rejected, records over a batch travel alone", "[producer]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.max_record_bytes = 1000});
  rill::Producer producer(node, {.batch_bytes = 256, .linger = 10s});
  try {
    (void)producer.send("t", {.key = "k", .value = std::string(2000, 'x')});
    FAIL("expected record_too_large");
  } catch (const rill::Error& e) {
    CHECK(e.code() == rill::ErrorCode::record_too_large);
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("value 2000"));
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("max_record_bytes = 1000"));
  }
  auto small = producer.send("t", {.value = "small"});
  const auto big = producer.send("t", {.value = std::string(900, 'b')}).get();  // > batch_bytes
  CHECK(small.get().offset == 0);
  CHECK(big.offset == 1);
  const auto values = read_values(node, "t", 0);
  REQUIRE(values.size() == 2);
  CHECK(values[1] == std::string(900, 'b'));
  rill::RecordMetadata md;
  CHECK(producer.try_send("t", {.value = std::string(900, 'c')}, &md) == rill::SendStatus::ok);
  CHECK(md.offset == 2);
}

TEST_CASE("producer: an unknown topic is an error naming it", "[producer]") {
  rill::Node node = rill::Node::in_memory();
  rill::Producer producer(node);
  try {
    (void)producer.send("missing", {.value = "v"});
    FAIL("expected not_found");
  } catch (const rill::Error& e) {
    CHECK(e.code() == rill::ErrorCode::not_found);
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("\"missing\""));
  }
}

TEST_CASE("producer: several threads share one producer, each thread's order holds per partition",
          "[producer]") {
  for (const auto linger : {0us, 200us}) {
    INFO("linger " << linger.count() << "us");
    rill::Node node = rill::Node::in_memory();
    node.create_topic("t", {.partitions = 3});
    rill::Producer producer(node, {.batch_bytes = 2048, .linger = linger});
    constexpr int kThreads = 4;
    const int per_thread = static_cast<int>(2000 * rill::test::scale());
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};  // Catch assertions stay on the main thread
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          const std::string key = std::to_string(t) + "-" + std::to_string(i % 7);
          const std::string value = std::to_string(t) + ":" + std::to_string(i);
          if (i % 3 == 0) {
            (void)producer.send("t", {.key = key, .value = value});
          } else {
            producer.send("t", {.key = key, .value = value}, [&](const rill::RecordMetadata&, const rill::Error* e) {
              if (e != nullptr) errors.fetch_add(1);
            });
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    producer.flush();
    CHECK(errors.load() == 0);
    std::size_t total = 0;
    for (std::int32_t p = 0; p < 3; ++p) {
      std::map<int, int> last;  // thread -> last sequence number seen in this partition
      for (const std::string& v : read_values(node, "t", p)) {
        const int t = std::stoi(v.substr(0, v.find(':')));
        const int i = std::stoi(v.substr(v.find(':') + 1));
        if (last.contains(t)) CHECK(i > last[t]);
        last[t] = i;
        ++total;
      }
    }
    CHECK(total == static_cast<std::size_t>(kThreads * per_thread));
  }
}
