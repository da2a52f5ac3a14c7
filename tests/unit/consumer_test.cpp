// Consumer: assign, poll, seek, position, lag, commit, pause, offset reset,
// headers and tombstones, losses on overwrite topics.
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;

namespace {

struct Fixture {
  rill::Node node = rill::Node::in_memory();
  rill::Producer producer{node};

  Fixture() { node.create_topic("t", {.partitions = 2}); }

  void send(std::int32_t partition, int count, const std::string& prefix = "v") {
    for (int i = 0; i < count; ++i) {
      (void)producer.send("t", {.value = prefix + std::to_string(i), .partition = partition}).get();
    }
  }
};

// (partition, offset, value) of each record polled.
struct Seen {
  std::int32_t partition;
  std::int64_t offset;
  std::string value;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> poll_all(rill::Consumer& c) {
  std::vector<Seen> seen;
  for (;;) {
    const auto records = c.poll(0ms);
    if (records.empty()) return seen;
    for (const rill::RecordView& r : records) seen.push_back({r.partition(), r.offset(), std::string(r.value())});
  }
}

std::vector<std::int64_t> offsets_of(const std::vector<Seen>& seen) {
  std::vector<std::int64_t> out;
  for (const Seen& s : seen) out.push_back(s.offset);
  return out;
}

std::vector<std::int64_t> range(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("consumer: assign and poll return records in offset order with their contents", "[consumer]") {
  Fixture f;
  f.send(0, 10);
  rill::Consumer c(f.node, {.auto_offset_reset = rill::OffsetReset::earliest});
  c.assign({{"t", 0}});
  CHECK(c.assignment() == std::vector<rill::TopicPartition>{{"t", 0}});
  const auto seen = poll_all(c);
  REQUIRE(seen.size() == 10);
  for (int i = 0; i < 10; ++i) {
    CHECK(seen[static_cast<std::size_t>(i)] == Seen{0, i, "v" + std::to_string(i)});
  }
  CHECK(c.position({"t", 0}) == 10);
  CHECK(c.poll(1ms).empty());
}

TEST_CASE("consumer: poll waits for records that arrive during the timeout", "[consumer]") {
  Fixture f;
  rill::Consumer c(f.node);
  c.assign({{"t", 1}});
  std::thread later([&] {
    std::this_thread::sleep_for(20ms);
    f.send(1, 1, "late");
  });
  std::vector<Seen> seen;
  for (int i = 0; i < 100 && seen.empty(); ++i) {
    for (const auto& r : c.poll(100ms)) seen.push_back({r.partition(), r.offset(), std::string(r.value())});
  }
  later.join();
  CHECK(seen == std::vector<Seen>{{1, 0, "late0"}});
}

TEST_CASE("consumer: auto_offset_reset earliest starts at the oldest record, latest at the end", "[consumer]") {
  Fixture f;
  f.send(0, 3, "old");
  rill::Consumer earliest(f.node, {.auto_offset_reset = rill::OffsetReset::earliest});
  rill::Consumer latest(f.node);  // Kafka's default: latest
  earliest.assign({{"t", 0}});
  latest.assign({{"t", 0}});
  CHECK(earliest.position({"t", 0}) == 0);
  CHECK(latest.position({"t", 0}) == 3);
  f.send(0, 2, "new");
  CHECK(offsets_of(poll_all(earliest)) == range(0, 5));
  CHECK(poll_all(latest) == std::vector<Seen>{{0, 3, "new0"}, {0, 4, "new1"}});
}

TEST_CASE("consumer: seek, seek_to_beginning, seek_to_end, position and lag", "[consumer]") {
  Fixture f;
  f.send(0, 10);
  rill::Consumer c(f.node, {.auto_offset_reset = rill::OffsetReset::earliest, .max_poll_records = 4});
  const rill::TopicPartition tp{"t", 0};
  c.assign({tp});
  CHECK(c.lag(tp) == 10);
  CHECK(offsets_of(poll_all(c)) == range(0, 10));
  CHECK(c.lag(tp) == 0);
  f.send(0, 5);
  CHECK(c.lag(tp) == 5);
  c.seek(tp, 3);
  CHECK(c.position(tp) == 3);
  CHECK(offsets_of(poll_all(c)) == range(3, 15));
  c.seek_to_beginning({tp});
  CHECK(c.position(tp) == 0);
  const auto first = c.poll(0ms);
  REQUIRE(first.size() == 4);  // max_poll_records
  CHECK(first[0].offset() == 0);
  CHECK(first[3].offset() == 3);
  c.seek_to_end({tp});
  CHECK(c.position(tp) == 15);
  CHECK(c.lag(tp) == 0);
  c.seek(tp, 99);
  CHECK(c.position(tp) == 15);
  CHECK_THROWS_AS(c.position({"t", 1}), rill::Error);
  CHECK_THROWS_AS(c.seek({"other", 0}, 0), rill::Error);
}

TEST_CASE("consumer: commit and committed, a new consumer of the group starts there", "[consumer]") {
  Fixture f;
  f.send(0, 10);
  const rill::TopicPartition tp{"t", 0};
  {
    rill::Consumer c(f.node, {.group = "g", .auto_offset_reset = rill::OffsetReset::earliest, .max_poll_records = 6});
    c.assign({tp});
    CHECK_FALSE(c.committed(tp).has_value());
    CHECK(c.poll(0ms).size() == 6);
    c.commit();
    CHECK(c.committed(tp) == 6);
    c.commit({{tp, 4}});
    CHECK(c.committed(tp) == 4);
  }
  rill::Consumer next(f.node, {.group = "g", .auto_offset_reset = rill::OffsetReset::earliest});
  next.assign({tp});
  CHECK(next.position(tp) == 4);
  CHECK(offsets_of(poll_all(next)) == range(4, 10));
  rill::Consumer no_group(f.node);
  no_group.assign({tp});
  CHECK_THROWS_AS(no_group.commit(), rill::Error);
  CHECK_FALSE(no_group.committed(tp).has_value());
}

TEST_CASE("consumer: paused partitions are skipped until resumed", "[consumer]") {
  Fixture f;
  f.send(0, 3, "zero");
  f.send(1, 3, "one");
  rill::Consumer c(f.node, {.auto_offset_reset = rill::OffsetReset::earliest});
  c.assign({{"t", 0}, {"t", 1}});
  c.pause({{"t", 0}});
  CHECK(c.paused() == std::vector<rill::TopicPartition>{{"t", 0}});
  auto seen = poll_all(c);
  REQUIRE(seen.size() == 3);
  for (const Seen& s : seen) CHECK(s.partition == 1);
  c.resume({{"t", 0}});
  CHECK(c.paused().empty());
  seen = poll_all(c);
  CHECK(seen == std::vector<Seen>{{0, 0, "zero0"}, {0, 1, "zero1"}, {0, 2, "zero2"}});
}

TEST_CASE("consumer: keys, headers and tombstones round trip", "[consumer]") {
  Fixture f;
  const rill::Header headers[] = {{"trace", "abc"}, {"empty", ""}};
  (void)f.producer.send("t", {.key = "k1", .value = "v1", .headers = headers, .timestamp = 42, .partition = 0}).get();
  (void)f.producer.send("t", {.key = "k2", .value = std::nullopt, .partition = 0}).get();  // tombstone
  (void)f.producer.send("t", {.key = std::nullopt, .value = "", .partition = 0}).get();
  rill::Consumer c(f.node, {.auto_offset_reset = rill::OffsetReset::earliest});
  c.assign({{"t", 0}});
  const auto records = c.poll(0ms);
  REQUIRE(records.size() == 3);
  CHECK(records[0].key() == "k1");
  CHECK(records[0].value() == "v1");
  CHECK(records[0].timestamp() == 42);
  CHECK(records[0].topic() == "t");
  std::vector<std::pair<std::string, std::string>> got;
  for (const rill::Header& h : records[0].headers()) got.emplace_back(h.key, h.value);
  CHECK(got == std::vector<std::pair<std::string, std::string>>{{"trace", "abc"}, {"empty", ""}});
  CHECK(records[1].has_key());
  CHECK_FALSE(records[1].has_value());
  CHECK(records[1].headers().empty());
  CHECK_FALSE(records[2].has_key());
  CHECK(records[2].has_value());
  CHECK(records[2].value().empty());
}

TEST_CASE("consumer: on an overwrite topic a lagging consumer is told exactly what it lost", "[consumer]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("lossy", {.capacity_bytes = 64 * 1024, .full_policy = rill::FullPolicy::overwrite});
  rill::Producer producer(node);
  rill::Consumer c(node, {.auto_offset_reset = rill::OffsetReset::earliest, .max_poll_records = 100000});
  c.assign({{"lossy", 0}});
  const std::string value(500, 'x');
  for (int i = 0; i < 1000; ++i) (void)producer.send("lossy", {.value = value + std::to_string(i)}).get();
  const std::int64_t start = node.describe_topic("lossy").partitions[0].start_offset;
  CHECK(start > 0);
  std::int64_t lost = 0;
  std::vector<std::int64_t> offsets;
  for (;;) {
    const auto records = c.poll(0ms);
    if (records.empty()) break;
    for (const rill::LossEvent& e : records.losses()) {
      CHECK(e.partition == rill::TopicPartition{"lossy", 0});
      CHECK(e.first_offset == 0);
    }
    lost += records.lost();
    for (const auto& r : records) {
      CHECK(r.value() == value + std::to_string(r.offset()));
      offsets.push_back(r.offset());
    }
  }
  CHECK(lost == start);
  CHECK(offsets == range(start, 1000));
  // A seek below the window is clamped and reported.
  c.seek({"lossy", 0}, 0);
  CHECK(c.position({"lossy", 0}) == start);
  const auto after_seek = c.poll(0ms);
  CHECK(after_seek.lost() == start);
}

TEST_CASE("consumer: misuse is reported", "[consumer]") {
  Fixture f;
  rill::Consumer c(f.node);
  CHECK_THROWS_AS(c.subscribe({"t"}), rill::Error);  // no group
  CHECK_THROWS_AS(c.assign({{"missing", 0}}), rill::Error);
  CHECK_THROWS_AS(c.assign({{"t", 7}}), rill::Error);
  CHECK_THROWS_AS(rill::Consumer(f.node, {.group = "bad/group"}), rill::Error);
  rill::Consumer g(f.node, {.group = "g"});
  g.subscribe({"t"});
  CHECK_THROWS_AS(g.assign({{"t", 0}}), rill::Error);
  c.close();
  CHECK_THROWS_AS(c.poll(0ms), rill::Error);
  c.close();  // idempotent
}
