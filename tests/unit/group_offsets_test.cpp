// Committed group offsets on a node opened on a directory: kept in the
// internal topic __consumer_offsets, restored when the node is reopened
// (several groups, topics and partitions; the last commit wins), recovered
// after a torn tail; the rules for internal topic names; the key and value
// encodings.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "rill/rill.hpp"
#include "test_util.hpp"
#include "group/offset_store.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test (created by Node::open), removed afterwards.
struct TempDir {
  rill::test::TempDir scratch{"rill-offsets-test", false};
  fs::path path{scratch.path()};
};

rill::TopicOptions durable(std::int32_t partitions) {
  return {.partitions = partitions, .storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024};
}

// Sends `per_partition` records to every partition of `topic`; values name
// the partition and the index.
void fill(rill::Node& node, const std::string& topic, std::int32_t partitions, int per_partition) {
  rill::Producer producer(node);
  for (std::int32_t p = 0; p < partitions; ++p) {
    for (int i = 0; i < per_partition; ++i) {
      const std::string value = topic + "/" + std::to_string(p) + "/" + std::to_string(i);
      (void)producer.send(topic, {.value = value, .partition = p}).get();
    }
  }
}

// The first offset polled from each partition by a new member of `group`
// subscribed to `topics` (polls until every expected partition answered).
std::map<rill::TopicPartition, std::int64_t> first_offsets(rill::Node& node, const std::string& group,
                                                            const std::vector<std::string>& topics,
                                                            std::size_t expected) {
  rill::Consumer consumer(node, {.group = group, .auto_offset_reset = rill::OffsetReset::earliest});
  consumer.subscribe(topics);
  std::map<rill::TopicPartition, std::int64_t> first;
  for (int round = 0; round < 200 && first.size() < expected; ++round) {
    for (const rill::RecordView& r : consumer.poll(10ms)) {
      first.try_emplace({std::string(r.topic()), r.partition()}, r.offset());
    }
  }
  return first;
}

fs::path offsets_segment(const fs::path& dir) {
  fs::path last;
  for (const auto& e : fs::directory_iterator(dir / "__consumer_offsets-0")) {
    if (e.path().extension() == ".log" && (last.empty() || e.path() > last)) last = e.path();
  }
  return last;
}

}  // namespace

TEST_CASE("group offsets: a new member after a reopen starts at each group's committed offsets", "[group][durable]") {
  TempDir dir;
  const rill::TopicPartition a0{"a", 0}, a1{"a", 1}, a2{"a", 2}, b0{"b", 0}, b1{"b", 1};
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("a", durable(3));
    node.create_topic("b", durable(2));
    fill(node, "a", 3, 10);
    fill(node, "b", 2, 10);
    rill::Consumer g1(node, {.group = "g1"});
    g1.commit({{a0, 3}, {a1, 7}, {a2, 0}, {b0, 10}, {b1, 5}});
    rill::Consumer g2(node, {.group = "g2"});
    g2.commit({{a0, 9}, {b1, 1}});
  }
  rill::Node node = rill::Node::open(dir.path);
  rill::Consumer probe(node, {.group = "g1"});
  CHECK(probe.committed(a0) == 3);
  CHECK(probe.committed(a1) == 7);
  CHECK(probe.committed(a2) == 0);
  CHECK(probe.committed(b0) == 10);
  CHECK(probe.committed(b1) == 5);
  rill::Consumer probe2(node, {.group = "g2"});
  CHECK(probe2.committed(a0) == 9);
  CHECK(probe2.committed(a1) == std::nullopt);
  CHECK(probe2.committed(b1) == 1);
  rill::Consumer other(node, {.group = "g3"});
  CHECK(other.committed(a0) == std::nullopt);

  // b-0 is committed at its end: nothing to read there.
  const auto g1_first = first_offsets(node, "g1", {"a", "b"}, 4);
  CHECK(g1_first == std::map<rill::TopicPartition, std::int64_t>{{a0, 3}, {a1, 7}, {a2, 0}, {b1, 5}});
  // g2 has no commit for a-1, a-2, b-0: those start at the earliest offset.
  const auto g2_first = first_offsets(node, "g2", {"a", "b"}, 5);
  CHECK(g2_first == std::map<rill::TopicPartition, std::int64_t>{{a0, 9}, {a1, 0}, {a2, 0}, {b0, 0}, {b1, 1}});
}

TEST_CASE("group offsets: a subscribed member's commit() of its positions survives a reopen", "[group][durable]") {
  TempDir dir;
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("t", durable(2));
    fill(node, "t", 2, 6);
    rill::Consumer consumer(node, {.group = "readers", .auto_offset_reset = rill::OffsetReset::earliest,
                                   .max_poll_records = 4});
    consumer.subscribe({"t"});
    std::size_t read = 0;
    for (int round = 0; round < 200 && read < 4; ++round) read += consumer.poll(10ms).size();
    REQUIRE(read == 4);
    consumer.commit();
    const std::int64_t p0 = consumer.position({"t", 0});
    const std::int64_t p1 = consumer.position({"t", 1});
    CHECK(p0 + p1 == 4);
    CHECK(consumer.committed({"t", 0}) == p0);
    consumer.close();
  }
  rill::Node node = rill::Node::open(dir.path);
  rill::Consumer consumer(node, {.group = "readers"});
  const std::int64_t c0 = consumer.committed({"t", 0}).value_or(-1);
  const std::int64_t c1 = consumer.committed({"t", 1}).value_or(-1);
  CHECK(c0 + c1 == 4);
  consumer.subscribe({"t"});
  std::vector<std::string> values;
  for (int round = 0; round < 200 && values.size() < 8; ++round) {
    for (const rill::RecordView& r : consumer.poll(10ms)) values.emplace_back(r.value());
  }
  std::sort(values.begin(), values.end());
  std::vector<std::string> expected;
  for (std::int64_t i = c0; i < 6; ++i) expected.push_back("t/0/" + std::to_string(i));
  for (std::int64_t i = c1; i < 6; ++i) expected.push_back("t/1/" + std::to_string(i));
  std::sort(expected.begin(), expected.end());
  CHECK(values == expected);
}

TEST_CASE("group offsets: the last commit of a partition wins, across several reopens", "[group][durable]") {
  TempDir dir;
  const rill::TopicPartition t0{"t", 0}, t1{"t", 1};
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("t", durable(2));
    fill(node, "t", 2, 20);
    rill::Consumer c(node, {.group = "g"});
    c.commit({{t0, 3}, {t1, 4}});
    c.commit({{t0, 7}});
    c.commit({{t0, 5}});  // back: the last value wins, not the largest
  }
  {
    rill::Node node = rill::Node::open(dir.path);
    rill::Consumer c(node, {.group = "g"});
    CHECK(c.committed(t0) == 5);
    CHECK(c.committed(t1) == 4);
    c.commit({{t1, 12}});
  }
  rill::Node node = rill::Node::open(dir.path);
  rill::Consumer c(node, {.group = "g"});
  CHECK(c.committed(t0) == 5);
  CHECK(c.committed(t1) == 12);
  c.assign({t0, t1});  // a manual assignment in a group starts at its commits too
  CHECK(c.position(t0) == 5);
  CHECK(c.position(t1) == 12);
  const auto records = c.poll(100ms);
  REQUIRE(!records.empty());
  for (const rill::RecordView& r : records) {
    CHECK(r.offset() >= (r.partition() == 0 ? 5 : 12));
  }
}

TEST_CASE("group offsets: a torn tail of the offsets topic is cut at open, earlier commits stay", "[group][durable]") {
  TempDir dir;
  const rill::TopicPartition t0{"t", 0};
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("t", durable(1));
    fill(node, "t", 1, 10);
    rill::Consumer c(node, {.group = "g"});
    c.commit({{t0, 4}});
  }
  // The second commit is written by a process that then dies: its batch
  // lies past the recovery point the orderly close above left.
  (void)rill::test::in_killed_child([&](int) {
    rill::Node node = rill::Node::open(dir.path);
    rill::Consumer c(node, {.group = "g"});
    c.commit({{t0, 8}});
    rill::test::die_by_sigkill();
  });
  const fs::path segment = offsets_segment(dir.path);
  REQUIRE(!segment.empty());
  {
    // Zero the last 8 non-zero bytes: the second commit's batch is cut
    // short, as if the process died while writing it.
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::size_t last = bytes.find_last_not_of('\0');
    REQUIRE(last != std::string::npos);
    REQUIRE(last >= 8);
    f.clear();
    f.seekp(static_cast<std::streamoff>(last - 7));
    f.write(std::string(8, '\0').data(), 8);
  }
  {
    rill::Node node = rill::Node::open(dir.path);
    rill::Consumer c(node, {.group = "g"});
    CHECK(c.committed(t0) == 4);
    c.commit({{t0, 9}});  // appends continue after the cut
  }
  rill::Node node = rill::Node::open(dir.path);
  rill::Consumer c(node, {.group = "g"});
  CHECK(c.committed(t0) == 9);
}

TEST_CASE("group offsets: names starting with __ cannot be created or deleted, the offsets topic is hidden", "[group][durable]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  for (const char* name : {"__consumer_offsets", "__mine"}) {
    CHECK(rill::test::error_of([&] { node.create_topic(name, durable(1)); }) == rill::ErrorCode::invalid_argument);
    CHECK(rill::test::error_of([&] { node.create_topic(name, {}); }) == rill::ErrorCode::invalid_argument);
    CHECK(rill::test::error_of([&] { node.delete_topic(name); }) == rill::ErrorCode::invalid_argument);
  }
  node.create_topic("_one_underscore", durable(1));
  node.create_topic("t", durable(1));
  CHECK(!fs::exists(dir.path / "__consumer_offsets-0"));  // made by the first commit
  rill::Consumer c(node, {.group = "g"});
  c.commit({{{"t", 0}, 0}});
  CHECK(fs::exists(dir.path / "__consumer_offsets-0"));
  CHECK(node.list_topics() == std::vector<std::string>{"_one_underscore", "t"});
  CHECK(!node.has_topic("__consumer_offsets"));
  rill::Consumer reader(node);
  CHECK(rill::test::error_of([&] { reader.assign({{"__consumer_offsets", 0}}); }) == rill::ErrorCode::not_found);

  rill::Node memory = rill::Node::in_memory();
  CHECK(rill::test::error_of([&] { memory.create_topic("__x", {}); }) == rill::ErrorCode::invalid_argument);
}

TEST_CASE("group offsets: an in-memory node keeps commits in memory only", "[group]") {
  const rill::TopicPartition t0{"t", 0};
  {
    rill::Node node = rill::Node::in_memory();
    node.create_topic("t", {});
    rill::Consumer c(node, {.group = "g"});
    c.commit({{t0, 0}});
    c.commit({{t0, 0}});
    CHECK(c.committed(t0) == 0);
    CHECK(node.list_topics() == std::vector<std::string>{"t"});
  }
  rill::Node fresh = rill::Node::in_memory();
  fresh.create_topic("t", {});
  rill::Consumer c(fresh, {.group = "g"});
  CHECK(c.committed(t0) == std::nullopt);
}

TEST_CASE("group offsets: keys and values encode and decode, malformed bytes are refused", "[group][codec]") {
  using namespace rill::group;
  const std::string key = encode_offset_key("orders-app", {"orders", 7});
  CHECK(key.size() == 1 + 2 + 10 + 2 + 6 + 4);
  CHECK(key[0] == '\x01');
  const auto k = decode_offset_key(key);
  REQUIRE(k);
  CHECK(k->group == "orders-app");
  CHECK(k->partition == rill::TopicPartition{"orders", 7});
  const std::string value = encode_offset_value({123456789012, -5});
  CHECK(value.size() == 17);
  const auto v = decode_offset_value(value);
  REQUIRE(v);
  CHECK(v->offset == 123456789012);
  CHECK(v->commit_timestamp_ms == -5);
  CHECK(!decode_offset_key(key.substr(0, key.size() - 1)));
  CHECK(!decode_offset_key(key + "x"));
  CHECK(!decode_offset_key("\x02" + key.substr(1)));
  CHECK(!decode_offset_value(value.substr(1)));
  CHECK(!decode_offset_key(""));
  // The example of docs/log_format.md.
  CHECK(encode_offset_key("g", {"t", 2}) == std::string("\x01\x01\x00g\x01\x00t\x02\x00\x00\x00", 11));
  CHECK(encode_offset_value({7, 1'700'000'000'000}) ==
        std::string("\x01\x07\x00\x00\x00\x00\x00\x00\x00\x00\x68\xe5\xcf\x8b\x01\x00\x00", 17));
}
