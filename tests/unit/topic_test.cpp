// Node's topic administration: create, list, describe, delete, option checks.
#include <string>

#include "rill/rill.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;

namespace {

using rill::test::error_of;

std::string message_of(auto&& call) {
  try {
    call();
  } catch (const rill::Error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("topic: the quickstart works end to end", "[topic]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("orders", {.partitions = 4});
  rill::Producer producer(node);
  rill::Consumer consumer(node, {.group = "billing", .auto_offset_reset = rill::OffsetReset::earliest});
  const auto where = producer.send("orders", {.key = "user-42", .value = "{\"total\":12}"}).get();
  CHECK(where.offset == 0);
  consumer.subscribe({"orders"});
  int seen = 0;
  for (int attempt = 0; attempt < 50 && seen == 0; ++attempt) {
    for (const rill::RecordView& r : consumer.poll(std::chrono::milliseconds(100))) {
      CHECK(r.topic() == "orders");
      CHECK(r.partition() == where.partition);
      CHECK(r.offset() == where.offset);
      CHECK(r.key() == "user-42");
      CHECK(r.value() == "{\"total\":12}");
      ++seen;
    }
  }
  CHECK(seen == 1);
  consumer.commit();
  CHECK(consumer.committed({"orders", where.partition}) == 1);
}

TEST_CASE("topic: create, list, describe, has and delete", "[topic]") {
  rill::Node node = rill::Node::in_memory();
  CHECK(node.list_topics().empty());
  node.create_topic("b", {.partitions = 2, .capacity_bytes = 1 << 20, .full_policy = rill::FullPolicy::overwrite});
  node.create_topic("a");
  CHECK(node.list_topics() == std::vector<std::string>{"a", "b"});
  CHECK(node.has_topic("a"));
  CHECK_FALSE(node.has_topic("c"));

  rill::Producer producer(node);
  for (int i = 0; i < 3; ++i) (void)producer.send("b", {.value = "x", .partition = 1}).get();
  const rill::TopicDescription d = node.describe_topic("b");
  CHECK(d.name == "b");
  CHECK(d.options.partitions == 2);
  CHECK(d.options.capacity_bytes == 1 << 20);
  CHECK(d.options.full_policy == rill::FullPolicy::overwrite);
  REQUIRE(d.partitions.size() == 2);
  CHECK(d.partitions[0].partition == 0);
  CHECK(d.partitions[0].start_offset == 0);
  CHECK(d.partitions[0].end_offset == 0);
  CHECK(d.partitions[1].partition == 1);
  CHECK(d.partitions[1].end_offset == 3);
  CHECK(d.partitions[1].retained_bytes > 0);

  node.delete_topic("b");
  CHECK_FALSE(node.has_topic("b"));
  CHECK(node.list_topics() == std::vector<std::string>{"a"});
  CHECK(error_of([&] { (void)producer.send("b", {.value = "x"}); }) == rill::ErrorCode::not_found);
  CHECK(error_of([&] { (void)node.describe_topic("b"); }) == rill::ErrorCode::not_found);
  CHECK(error_of([&] { node.delete_topic("b"); }) == rill::ErrorCode::not_found);
  // The name can be used again: a new, empty topic.
  node.create_topic("b");
  CHECK(producer.send("b", {.value = "x"}).get().offset == 0);
}

TEST_CASE("topic: bad names and options are rejected at create", "[topic]") {
  rill::Node node = rill::Node::in_memory();
  CHECK(message_of([&] { node.create_topic("a/b"); }) ==
        "topic name \"a/b\": '/' is not allowed (use letters, digits, '.', '_', '-')");
  CHECK(error_of([&] { node.create_topic(".."); }) == rill::ErrorCode::invalid_argument);
  CHECK(error_of([&] { node.create_topic("t", {.partitions = 0}); }) == rill::ErrorCode::invalid_argument);
  CHECK(error_of([&] { node.create_topic("t", {.partitions = 100000}); }) == rill::ErrorCode::invalid_argument);
  CHECK(error_of([&] { node.create_topic("t", {.capacity_bytes = 1024}); }) == rill::ErrorCode::invalid_argument);
  CHECK_THAT(message_of([&] { node.create_topic("t", {.capacity_bytes = 1 << 20, .max_record_bytes = 1 << 20}); }),
             Catch::Matchers::Contains("max_record_bytes = 1048576"));
  CHECK(error_of([&] { node.create_topic("t", {.max_record_bytes = 8}); }) == rill::ErrorCode::invalid_argument);
  CHECK(error_of([&] { node.create_topic("t", {.block_timeout = -1ms}); }) == rill::ErrorCode::invalid_argument);
  CHECK(error_of([&] { node.create_topic("t", {.storage = rill::StorageKind::durable}); }) ==
        rill::ErrorCode::unsupported);
  CHECK(node.list_topics().empty());
  node.create_topic("t");
  CHECK(error_of([&] { node.create_topic("t"); }) == rill::ErrorCode::already_exists);
}

TEST_CASE("topic: producers and consumers keep a node's state alive", "[topic]") {
  std::optional<rill::Producer> producer;
  std::optional<rill::Consumer> consumer;
  {
    rill::Node node = rill::Node::in_memory();
    node.create_topic("t");
    producer.emplace(node);
    consumer.emplace(node);
    consumer->assign({{"t", 0}});
  }
  (void)producer->send("t", {.value = "after"}).get();
  consumer->seek_to_beginning({{"t", 0}});
  const auto records = consumer->poll(100ms);
  REQUIRE(records.size() == 1);
  CHECK(records[0].value() == "after");
}
