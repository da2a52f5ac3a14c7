// Metrics: exact counts of records, bytes and batches on memory and durable
// topics, for partitions, producers and consumers; full events, losses,
// syncs, truncations at recovery and lag; the Prometheus text parsed back;
// and metrics read while producers and a consumer work.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "codec/batch_builder.hpp"
#include "prometheus_parser.hpp"
#include "rill/rill.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kTimestamp = 1'700'000'000'000;

// The encoded size of `record` alone in a batch, as a producer with linger 0
// appends it.
std::uint64_t batch_bytes_of(const rill::Record& record) {
  rill::codec::BatchBuilder builder(1 << 16);
  REQUIRE(builder.try_append(record, record.timestamp));
  return builder.finish().size();
}

struct Expected {
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t batches = 0;
  std::uint64_t payload = 0;  // key + value bytes
};

// Sends `count` records to `partition`, one batch each, and adds them to `e`.
void send_each(rill::Producer& producer, const std::string& topic, std::int32_t partition, int count,
               Expected& e) {
  for (int i = 0; i < count; ++i) {
    const std::string key = "key-" + std::to_string(i);
    const std::string value = std::string(static_cast<std::size_t>(10 + 7 * i), 'v');
    const rill::Record record{.key = key, .value = value, .timestamp = kTimestamp, .partition = partition};
    (void)producer.send(topic, record).get();
    e.records += 1;
    e.bytes += batch_bytes_of(record);
    e.batches += 1;
    e.payload += key.size() + value.size();
  }
}

// Polls until a poll returns nothing; returns how many polls it made.
std::uint64_t drain(rill::Consumer& consumer) {
  std::uint64_t polls = 0;
  for (;;) {
    ++polls;
    if (consumer.poll(0ms).empty()) return polls;
  }
}

const rill::TopicMetrics& topic_of(const rill::NodeMetrics& m, const std::string& name) {
  const auto it = std::find_if(m.topics.begin(), m.topics.end(), [&](const auto& t) { return t.name == name; });
  REQUIRE(it != m.topics.end());
  return *it;
}

template <class Client>
const Client& client_of(const std::vector<Client>& clients, const std::string& id) {
  const auto it = std::find_if(clients.begin(), clients.end(), [&](const auto& c) { return c.client_id == id; });
  REQUIRE(it != clients.end());
  return *it;
}

void check_counts(const rill::PartitionCounts& got, const Expected& e) {
  CHECK(got.records_appended == e.records);
  CHECK(got.bytes_appended == e.bytes);
  CHECK(got.batches_appended == e.batches);
}

}  // namespace

TEST_CASE("metrics: a memory topic counts records, bytes and batches exactly, per partition and topic",
          "[metrics]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("mem", {.partitions = 2});
  rill::Producer producer(node, {.client_id = "p1"});
  Expected p0, p1;
  send_each(producer, "mem", 0, 6, p0);
  send_each(producer, "mem", 1, 4, p1);

  const rill::NodeMetrics m = node.metrics();
  const rill::TopicMetrics& t = topic_of(m, "mem");
  CHECK(t.storage == rill::StorageKind::memory);
  REQUIRE(t.partitions.size() == 2);
  CHECK(t.partitions[0].partition == 0);
  CHECK(t.partitions[1].partition == 1);
  check_counts(t.partitions[0], p0);
  check_counts(t.partitions[1], p1);
  check_counts(t, {p0.records + p1.records, p0.bytes + p1.bytes, p0.batches + p1.batches, 0});
  CHECK(t.partitions[0].end_offset == 6);
  CHECK(t.partitions[1].end_offset == 4);
  CHECK(t.full_events == 0);
  CHECK(t.records_lost == 0);
  CHECK(t.syncs == 0);
  CHECK(t.truncations_at_recovery == 0);

  const rill::ProducerMetrics& pm = client_of(m.producers, "p1");
  CHECK(pm.records_sent == 10);
  CHECK(pm.bytes_sent == p0.bytes + p1.bytes);
  CHECK(pm.batches_sent == 10);
  CHECK(pm.records_in_open_batches == 0);
  CHECK(pm.send_errors.full + pm.send_errors.timed_out + pm.send_errors.too_large + pm.send_errors.failed == 0);
  CHECK(producer.metrics().records_sent == 10);
  CHECK(producer.metrics().client_id == "p1");
}

TEST_CASE("metrics: a lingering producer counts open batches, then one batch per partition", "[metrics]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("linger", {.partitions = 2});
  rill::Producer producer(node, {.linger = std::chrono::seconds(60)});
  for (int i = 0; i < 5; ++i) {
    (void)producer.try_send("linger", {.value = "v" + std::to_string(i), .partition = i % 2});
  }
  rill::ProducerMetrics before = producer.metrics();
  CHECK(before.client_id == "producer-1");
  CHECK(before.records_in_open_batches == 5);
  CHECK(before.batches_sent == 0);
  producer.flush();
  const rill::ProducerMetrics after = producer.metrics();
  CHECK(after.records_in_open_batches == 0);
  CHECK(after.records_sent == 5);
  CHECK(after.batches_sent == 2);
  const rill::TopicMetrics t = topic_of(node.metrics(), "linger");
  CHECK(t.batches_appended == 2);
  CHECK(t.partitions[0].records_appended == 3);
  CHECK(t.partitions[1].records_appended == 2);
  CHECK(t.bytes_appended == after.bytes_sent);
}

TEST_CASE("metrics: a consumer counts polls, records, payload bytes and its lag per partition", "[metrics]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("read", {.partitions = 2});
  rill::Producer producer(node);
  Expected p0, p1;
  send_each(producer, "read", 0, 5, p0);
  send_each(producer, "read", 1, 3, p1);
  rill::Consumer consumer(node, {.auto_offset_reset = rill::OffsetReset::earliest, .client_id = "reader"});
  consumer.assign({{"read", 0}, {"read", 1}});

  rill::ConsumerMetrics m = consumer.metrics();
  CHECK(m.client_id == "reader");
  REQUIRE(m.partitions.size() == 2);
  CHECK(m.partitions[0].partition == rill::TopicPartition{"read", 0});
  CHECK(m.partitions[0].lag == 5);
  CHECK(m.partitions[1].lag == 3);
  CHECK(m.lag == 8);

  const std::uint64_t polls = drain(consumer);
  m = consumer.metrics();
  CHECK(m.polls == polls);
  CHECK(m.records_polled == 8);
  CHECK(m.bytes_polled == p0.payload + p1.payload);
  CHECK(m.records_lost == 0);
  CHECK(m.lag == 0);
  CHECK(m.partitions[0].position == 5);

  Expected more;
  send_each(producer, "read", 1, 3, more);
  m = consumer.metrics();
  CHECK(m.partitions[0].lag == 0);
  CHECK(m.partitions[1].lag == 3);
  CHECK(m.partitions[1].end_offset == 6);
  // Another thread sees the positions of the last poll, and the same counts.
  const rill::ConsumerMetrics seen = client_of(node.metrics().consumers, "reader");
  CHECK(seen.records_polled == 8);
  CHECK(seen.lag == 3);
}

TEST_CASE("metrics: producers and consumers get default names and leave the node's list when destroyed",
          "[metrics]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t");
  {
    rill::Producer a(node);
    rill::Producer b(node, {.client_id = "named"});
    rill::Producer c(node);
    rill::Consumer d(node);
    const rill::NodeMetrics m = node.metrics();
    REQUIRE(m.producers.size() == 3);
    CHECK(m.producers[0].client_id == "producer-1");
    CHECK(m.producers[1].client_id == "named");
    CHECK(m.producers[2].client_id == "producer-2");
    REQUIRE(m.consumers.size() == 1);
    CHECK(m.consumers[0].client_id == "consumer-1");
  }
  const rill::NodeMetrics m = node.metrics();
  CHECK(m.producers.empty());
  CHECK(m.consumers.empty());
}

TEST_CASE("metrics: under FullPolicy::fail every refused append is one full event", "[metrics]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("tight", {.capacity_bytes = 64 * 1024, .full_policy = rill::FullPolicy::fail});
  rill::Consumer holder(node, {.auto_offset_reset = rill::OffsetReset::earliest});
  holder.assign({{"tight", 0}});  // never polls: holds every record
  rill::Producer producer(node, {.client_id = "filler"});
  const std::string value(1000, 'f');
  int accepted = 0;
  while (producer.try_send("tight", {.value = value}) == rill::SendStatus::ok) ++accepted;
  CHECK(accepted > 10);
  for (int i = 0; i < 4; ++i) CHECK(producer.try_send("tight", {.value = value}) == rill::SendStatus::full);
  CHECK(rill::test::error_of([&] { (void)producer.send("tight", {.value = value}).get(); }) ==
        rill::ErrorCode::full);

  const rill::NodeMetrics m = node.metrics();
  const rill::TopicMetrics& t = topic_of(m, "tight");
  CHECK(t.full_events == 6);  // the first refusal, four more, and the send
  CHECK(t.records_appended == static_cast<std::uint64_t>(accepted));
  const rill::ProducerMetrics& pm = client_of(m.producers, "filler");
  CHECK(pm.send_errors.full == 6);
  CHECK(pm.records_sent == static_cast<std::uint64_t>(accepted));
  CHECK(pm.records_in_open_batches == 0);
}

TEST_CASE("metrics: losses under overwrite count for the partition and for the consumer that lost them",
          "[metrics]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("lossy", {.capacity_bytes = 64 * 1024, .full_policy = rill::FullPolicy::overwrite});
  rill::Producer producer(node);
  rill::Consumer consumer(node, {.auto_offset_reset = rill::OffsetReset::earliest, .max_poll_records = 100000,
                                 .client_id = "late"});
  consumer.assign({{"lossy", 0}});
  const std::string value(500, 'x');
  for (int i = 0; i < 1000; ++i) (void)producer.send("lossy", {.value = value}).get();
  const std::int64_t start = node.describe_topic("lossy").partitions[0].start_offset;
  REQUIRE(start > 0);
  std::int64_t reported = 0;
  for (;;) {
    const auto records = consumer.poll(0ms);
    reported += records.lost();
    if (records.empty()) break;
  }
  CHECK(reported == start);
  rill::ConsumerMetrics cm = consumer.metrics();
  CHECK(cm.records_lost == static_cast<std::uint64_t>(start));
  CHECK(cm.partitions[0].records_lost == static_cast<std::uint64_t>(start));
  CHECK(cm.records_polled == static_cast<std::uint64_t>(1000 - start));
  CHECK(topic_of(node.metrics(), "lossy").partitions[0].records_lost == static_cast<std::uint64_t>(start));
  CHECK(topic_of(node.metrics(), "lossy").full_events == 0);

  consumer.seek({"lossy", 0}, 0);  // below the window: reported again
  CHECK(consumer.poll(0ms).lost() == start);
  CHECK(consumer.metrics().records_lost == static_cast<std::uint64_t>(2 * start));
  CHECK(topic_of(node.metrics(), "lossy").records_lost == static_cast<std::uint64_t>(2 * start));
}

TEST_CASE("metrics: a durable topic counts its appends, and one sync per batch under every_batch",
          "[metrics]") {
  rill::test::TempDir dir("rill-metrics-test", false);
  rill::Node node = rill::Node::open(dir.path());
  node.create_topic("synced", {.storage = rill::StorageKind::durable, .segment_bytes = 1 << 20,
                               .fsync = rill::FsyncPolicy::every_batch});
  node.create_topic("cached", {.storage = rill::StorageKind::durable, .segment_bytes = 1 << 20});
  rill::Producer producer(node);
  Expected synced, cached;
  send_each(producer, "synced", 0, 12, synced);
  send_each(producer, "cached", 0, 7, cached);

  const rill::NodeMetrics m = node.metrics();
  const rill::TopicMetrics& s = topic_of(m, "synced");
  CHECK(s.storage == rill::StorageKind::durable);
  check_counts(s.partitions[0], synced);
  CHECK(s.syncs == 12);  // one producer thread: no batch shares another's sync
  CHECK(s.sync_failures == 0);
  const rill::LatencyHistogram& h = s.partitions[0].sync_latency;
  CHECK(h.count == 12);
  CHECK(h.max_ns > 0);
  CHECK(h.max_ns <= h.sum_ns);
  for (std::size_t i = 0; i + 1 < h.buckets.size(); ++i) CHECK(h.buckets[i] <= h.buckets[i + 1]);
  CHECK(h.buckets.back() <= h.count);

  const rill::TopicMetrics& c = topic_of(m, "cached");
  check_counts(c.partitions[0], cached);
  CHECK(c.syncs == 0);
  CHECK(c.sync_latency.count == 0);
  CHECK(client_of(m.producers, "producer-1").bytes_sent == synced.bytes + cached.bytes);
}

TEST_CASE("metrics: a torn tail cut at reopen counts as a truncation, with its bytes", "[metrics]") {
  rill::test::TempDir dir("rill-metrics-test", false);
  std::size_t end_position = 0;
  {
    rill::Node node = rill::Node::open(dir.path());
    node.create_topic("torn", {.storage = rill::StorageKind::durable, .segment_bytes = 1 << 20});
    rill::Producer producer(node);
    Expected sent;
    send_each(producer, "torn", 0, 10, sent);
    end_position = topic_of(node.metrics(), "torn").partitions[0].retained_bytes;
    CHECK(topic_of(node.metrics(), "torn").truncations_at_recovery == 0);
  }
  fs::path segment;
  for (const auto& entry : fs::directory_iterator(fs::path(dir.path()) / "torn-0")) {
    if (entry.path().extension() == ".log") segment = entry.path();
  }
  REQUIRE(!segment.empty());
  {
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(end_position));
    const std::string garbage(100, '\xab');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  rill::Node node = rill::Node::open(dir.path());
  const rill::TopicMetrics t = topic_of(node.metrics(), "torn");
  CHECK(t.truncations_at_recovery == 1);
  CHECK(t.bytes_truncated_at_recovery == 100);
  CHECK(t.partitions[0].end_offset == 10);
  CHECK(t.records_appended == 0);  // counters start again with the node
}

TEST_CASE("metrics: the Prometheus text parses back, with families, labels, values and histograms",
          "[metrics]") {
  rill::test::TempDir dir("rill-metrics-test", false);
  rill::Node node = rill::Node::open(dir.path());
  node.create_topic("mem", {.partitions = 2});
  node.create_topic("disk", {.storage = rill::StorageKind::durable, .segment_bytes = 1 << 20,
                             .fsync = rill::FsyncPolicy::every_batch});
  const std::string odd_id = "we\"ird\\id\nx";
  rill::Producer producer(node, {.client_id = odd_id});
  Expected mem0, disk0;
  send_each(producer, "mem", 0, 3, mem0);
  send_each(producer, "disk", 0, 4, disk0);
  rill::Consumer consumer(node, {.auto_offset_reset = rill::OffsetReset::earliest, .client_id = "c"});
  consumer.assign({{"mem", 0}, {"mem", 1}, {"disk", 0}});
  (void)drain(consumer);

  const std::string text = rill::to_prometheus(node.metrics());
  const rill::test::Exposition e = rill::test::parse_exposition(text);  // checks the format itself
  CHECK(e.type_of("rill_partition_records_appended_total") == "counter");
  CHECK(e.type_of("rill_partition_end_offset") == "gauge");
  CHECK(e.type_of("rill_partition_sync_duration_seconds") == "histogram");
  CHECK(e.value("rill_partition_records_appended_total", {{"topic", "mem"}, {"partition", "0"}}) == 3);
  CHECK(e.value("rill_partition_bytes_appended_total", {{"topic", "disk"}, {"partition", "0"}}) ==
        static_cast<double>(disk0.bytes));
  CHECK(e.value("rill_partition_syncs_total", {{"topic", "disk"}, {"partition", "0"}}) == 4);
  CHECK(!e.has("rill_partition_syncs_total", {{"topic", "mem"}, {"partition", "0"}}));
  CHECK(e.value("rill_partition_sync_duration_seconds_count", {{"topic", "disk"}, {"partition", "0"}}) == 4);
  CHECK(e.value("rill_partition_sync_duration_seconds_bucket",
                {{"topic", "disk"}, {"partition", "0"}, {"le", "+Inf"}}) == 4);
  CHECK(e.value("rill_producer_records_sent_total", {{"client_id", odd_id}}) == 7);
  CHECK(e.value("rill_producer_send_errors_total", {{"client_id", odd_id}, {"reason", "full"}}) == 0);
  CHECK(e.value("rill_consumer_records_polled_total", {{"client_id", "c"}}) == 7);
  CHECK(e.value("rill_consumer_lag", {{"client_id", "c"}, {"topic", "disk"}, {"partition", "0"}}) == 0);
  CHECK(e.value("rill_consumer_position", {{"client_id", "c"}, {"topic", "mem"}, {"partition", "0"}}) == 3);
  CHECK(text.find("we\\\"ird\\\\id\\nx") != std::string::npos);  // escaped as the format says
}

TEST_CASE("metrics: read from another thread while producers send and a consumer polls", "[metrics]") {
  const std::uint64_t per_producer = 20'000 * rill::test::scale();
  constexpr int kProducers = 2;
  rill::Node node = rill::Node::in_memory();
  node.create_topic("busy", {.partitions = 4, .capacity_bytes = 256 * 1024});
  std::atomic<bool> consumer_ready{false};
  std::atomic<std::uint64_t> consumed{0};
  std::thread consumer_thread([&] {
    rill::Consumer consumer(node, {.auto_offset_reset = rill::OffsetReset::earliest});
    consumer.assign({{"busy", 0}, {"busy", 1}, {"busy", 2}, {"busy", 3}});
    consumer_ready.store(true);
    while (consumed.load() < kProducers * per_producer) consumed += consumer.poll(10ms).size();
  });
  while (!consumer_ready.load()) std::this_thread::yield();
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      rill::Producer producer(node, {.linger = std::chrono::microseconds(p == 0 ? 0 : 200)});
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        producer.send("busy", {.key = std::to_string(i % 64), .value = "value"}, [](const auto&, const auto*) {});
      }
    });
  }
  std::uint64_t last_appended = 0;
  std::uint64_t reads = 0;
  while (consumed.load() < kProducers * per_producer) {
    const rill::NodeMetrics m = node.metrics();
    const std::uint64_t appended = topic_of(m, "busy").records_appended;
    CHECK(appended >= last_appended);  // counters never go back
    last_appended = appended;
    CHECK(!rill::to_prometheus(m).empty());
    ++reads;
  }
  for (auto& t : producers) t.join();
  consumer_thread.join();
  const rill::NodeMetrics m = node.metrics();
  CHECK(topic_of(m, "busy").records_appended == kProducers * per_producer);
  CHECK(m.producers.empty());
  CHECK(m.consumers.empty());
  CHECK(reads > 0);
}
