// Consumer-group administration on rill::Node: list_groups, describe_group
// (members, committed and end offsets, lag) and reset_group_offsets (to the
// start or end of each partition, refused while the group has live members,
// kept across a reopen on a directory).
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using Offsets = std::map<rill::TopicPartition, std::int64_t>;

namespace {

void fill(rill::Node& node, const std::string& topic, std::int32_t partition, int count) {
  rill::Producer producer(node);
  for (int i = 0; i < count; ++i) {
    const std::string value = topic + "/" + std::to_string(partition) + "/" + std::to_string(i);
    (void)producer.send(topic, {.value = value, .partition = partition}).get();
  }
}

// Commits `offsets` for `group` as a consumer that assigns them (not a member).
void commit(rill::Node& node, const std::string& group, const Offsets& offsets) {
  rill::Consumer consumer(node, {.group = group});
  std::vector<rill::TopicPartition> partitions;
  for (const auto& [tp, offset] : offsets) partitions.push_back(tp);
  consumer.assign(partitions);
  consumer.commit(offsets);
}

// Polls until the member owns `expected` partitions (or gives up).
void poll_until_assigned(rill::Consumer& consumer, std::size_t expected) {
  for (int round = 0; round < 500 && consumer.assignment().size() < expected; ++round) {
    (void)consumer.poll(2ms);
  }
  REQUIRE(consumer.assignment().size() == expected);
}

// A node with topics "a" (2 partitions: 5 and 3 records) and "b" (1: 4 records).
rill::Node two_topics(rill::Node node) {
  node.create_topic("a", {.partitions = 2});
  node.create_topic("b", {.partitions = 1});
  fill(node, "a", 0, 5);
  fill(node, "a", 1, 3);
  fill(node, "b", 0, 4);
  return node;
}

std::string error_message(auto&& call) {
  try {
    call();
  } catch (const rill::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("group admin: list_groups shows groups with committed offsets or live members, sorted", "[group][admin]") {
  rill::Node node = two_topics(rill::Node::in_memory());
  CHECK(node.list_groups().empty());
  commit(node, "zeta", {{{"a", 0}, 1}});
  commit(node, "alpha", {{{"b", 0}, 2}});
  CHECK(node.list_groups() == std::vector<std::string>{"alpha", "zeta"});
  {
    rill::Consumer member(node, {.group = "mid"});
    member.subscribe({"a"});
    poll_until_assigned(member, 2);
    CHECK(node.list_groups() == std::vector<std::string>{"alpha", "mid", "zeta"});
  }
  // Closed without committing: nothing is left of "mid".
  CHECK(node.list_groups() == std::vector<std::string>{"alpha", "zeta"});
}

TEST_CASE("group admin: describe_group gives committed offset, end offset and lag per partition", "[group][admin]") {
  rill::Node node = two_topics(rill::Node::in_memory());
  commit(node, "billing", {{{"a", 0}, 2}, {{"a", 1}, 3}, {{"b", 0}, 0}});
  const rill::GroupDescription d = node.describe_group("billing");
  CHECK(d.group == "billing");
  CHECK(d.members.empty());
  REQUIRE(d.partitions.size() == 3);
  const std::vector<rill::TopicPartition> order{{"a", 0}, {"a", 1}, {"b", 0}};
  const std::vector<std::int64_t> committed{2, 3, 0};
  const std::vector<std::int64_t> end{5, 3, 4};
  for (std::size_t i = 0; i < 3; ++i) {
    INFO(i);
    CHECK(d.partitions[i].partition == order[i]);
    CHECK(d.partitions[i].committed == committed[i]);
    CHECK(d.partitions[i].end_offset == end[i]);
    CHECK(d.partitions[i].lag == end[i] - committed[i]);
  }
  // A partition of a deleted topic keeps its committed offset, without an end.
  node.delete_topic("b");
  const rill::GroupDescription after = node.describe_group("billing");
  REQUIRE(after.partitions.size() == 3);
  CHECK(after.partitions[2].committed == 0);
  CHECK_FALSE(after.partitions[2].end_offset.has_value());
  CHECK_FALSE(after.partitions[2].lag.has_value());
}

TEST_CASE("group admin: describe_group lists live members with their assignments", "[group][admin]") {
  rill::Node node = two_topics(rill::Node::in_memory());
  commit(node, "g", {{{"a", 1}, 1}});
  rill::Consumer member(node, {.group = "g"});
  member.subscribe({"a", "b"});
  poll_until_assigned(member, 3);
  const rill::GroupDescription d = node.describe_group("g");
  REQUIRE(d.members.size() == 1);
  CHECK(d.members[0].id.rfind("g-", 0) == 0);
  CHECK(d.members[0].topics == std::vector<std::string>{"a", "b"});
  CHECK(d.members[0].assignment == std::vector<rill::TopicPartition>{{"a", 0}, {"a", 1}, {"b", 0}});
  // Assigned but never committed: no committed offset and no lag.
  REQUIRE(d.partitions.size() == 3);
  CHECK_FALSE(d.partitions[0].committed.has_value());
  CHECK(d.partitions[0].end_offset == 5);
  CHECK_FALSE(d.partitions[0].lag.has_value());
  CHECK(d.partitions[1].committed == 1);
  CHECK(d.partitions[1].lag == 2);
}

TEST_CASE("group admin: unknown groups and bad names fail with clear errors", "[group][admin]") {
  rill::Node node = two_topics(rill::Node::in_memory());
  commit(node, "g", {{{"a", 0}, 1}});
  CHECK(rill::test::error_of([&] { (void)node.describe_group("nope"); }) == rill::ErrorCode::not_found);
  CHECK(error_message([&] { (void)node.describe_group("nope"); }).find("consumer group \"nope\" does not exist") !=
        std::string::npos);
  CHECK(rill::test::error_of([&] { (void)node.describe_group("a/b"); }) == rill::ErrorCode::invalid_argument);
  CHECK(rill::test::error_of([&] { (void)node.describe_group(""); }) == rill::ErrorCode::invalid_argument);
  auto reset = [&](std::string_view group, std::string_view topic) {
    return rill::test::error_of([&] { (void)node.reset_group_offsets(group, topic, rill::OffsetReset::earliest); });
  };
  CHECK(reset("nope", "") == rill::ErrorCode::not_found);
  CHECK(reset("nope", "a") == rill::ErrorCode::not_found);
  CHECK(reset("g", "missing") == rill::ErrorCode::not_found);
  CHECK(reset("bad group", "") == rill::ErrorCode::invalid_argument);
  CHECK(reset("g", "bad/topic") == rill::ErrorCode::invalid_argument);
  CHECK(node.describe_group("g").partitions.at(0).committed == 1);  // nothing moved
}

TEST_CASE("group admin: reset moves committed offsets to the start or the end of each partition", "[group][admin]") {
  rill::Node node = two_topics(rill::Node::in_memory());
  commit(node, "g", {{{"a", 0}, 2}, {{"b", 0}, 1}});

  SECTION("latest, over every partition the group committed") {
    const Offsets moved = node.reset_group_offsets("g", "", rill::OffsetReset::latest);
    CHECK(moved == Offsets{{{"a", 0}, 5}, {{"b", 0}, 4}});
    for (const auto& p : node.describe_group("g").partitions) CHECK(p.lag == 0);
  }
  SECTION("earliest, over every partition of one topic, committed or not") {
    const Offsets moved = node.reset_group_offsets("g", "a", rill::OffsetReset::earliest);
    CHECK(moved == Offsets{{{"a", 0}, 0}, {{"a", 1}, 0}});
    const rill::GroupDescription d = node.describe_group("g");
    REQUIRE(d.partitions.size() == 3);
    CHECK(d.partitions[1].committed == 0);
    CHECK(d.partitions[2].committed == 1);  // topic b untouched
  }
  SECTION("a member that joins afterwards starts at the reset offsets") {
    (void)node.reset_group_offsets("g", "", rill::OffsetReset::earliest);
    rill::Consumer member(node, {.group = "g"});
    member.subscribe({"b"});
    std::vector<std::string> values;
    for (int round = 0; round < 500 && values.size() < 4; ++round) {
      for (const rill::RecordView& r : member.poll(2ms)) values.emplace_back(r.value());
    }
    CHECK(values == std::vector<std::string>{"b/0/0", "b/0/1", "b/0/2", "b/0/3"});
  }
}

TEST_CASE("group admin: earliest is the oldest retained record, not offset 0", "[group][admin]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("feed", {.partitions = 1,
                             .capacity_bytes = rill::TopicOptions::kMinCapacityBytes,
                             .full_policy = rill::FullPolicy::overwrite});
  fill(node, "feed", 0, 3000);  // far more than 64 KiB: the oldest are overwritten
  commit(node, "g", {{{"feed", 0}, 2990}});
  const rill::PartitionInfo window = node.describe_topic("feed").partitions.at(0);
  REQUIRE(window.start_offset > 0);
  CHECK(node.reset_group_offsets("g", "", rill::OffsetReset::earliest) == Offsets{{{"feed", 0}, window.start_offset}});
}

TEST_CASE("group admin: reset is refused while the group has a live member, allowed once it is gone", "[group][admin]") {
  rill::Node node = two_topics(rill::Node::in_memory());
  commit(node, "g", {{{"a", 0}, 2}});
  {
    rill::Consumer member(node, {.group = "g"});
    member.subscribe({"a"});
    poll_until_assigned(member, 2);
    const std::string message =
        error_message([&] { (void)node.reset_group_offsets("g", "", rill::OffsetReset::latest); });
    CHECK(message.find("consumer group \"g\" has 1 live member(s) (g-") != std::string::npos);
    CHECK(rill::test::error_of([&] { (void)node.reset_group_offsets("g", "a", rill::OffsetReset::latest); }) ==
          rill::ErrorCode::invalid_argument);
    CHECK(node.describe_group("g").partitions.at(0).committed == 2);  // unchanged
  }
  CHECK(node.reset_group_offsets("g", "", rill::OffsetReset::latest) == Offsets{{{"a", 0}, 5}});
}

TEST_CASE("group admin: a member silent for its session timeout no longer blocks a reset", "[group][admin]") {
  rill::Node node = two_topics(rill::Node::in_memory());
  commit(node, "g", {{{"a", 0}, 2}});
  rill::Consumer member(node, {.group = "g", .session_timeout = 1ms});
  member.subscribe({"a"});
  (void)member.poll(1ms);
  std::this_thread::sleep_for(20ms);  // longer than the session timeout: the member is removed
  CHECK(node.describe_group("g").members.empty());
  CHECK(node.reset_group_offsets("g", "", rill::OffsetReset::latest) == Offsets{{{"a", 0}, 5}});
}

TEST_CASE("group admin: a reset on a directory is stored and survives a reopen", "[group][admin][durable]") {
  rill::test::TempDir dir("rill-group-admin-test", false);
  const rill::TopicOptions durable{.partitions = 2, .storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024};
  {
    rill::Node node = rill::Node::open(dir.path());
    node.create_topic("a", durable);
    fill(node, "a", 0, 5);
    fill(node, "a", 1, 3);
    commit(node, "g", {{{"a", 0}, 1}, {{"a", 1}, 1}});
    commit(node, "other", {{{"a", 0}, 4}});
    CHECK(node.reset_group_offsets("g", "", rill::OffsetReset::latest) == Offsets{{{"a", 0}, 5}, {{"a", 1}, 3}});
  }
  rill::Node node = rill::Node::open(dir.path());
  CHECK(node.list_groups() == std::vector<std::string>{"g", "other"});
  const rill::GroupDescription d = node.describe_group("g");
  REQUIRE(d.partitions.size() == 2);
  CHECK(d.partitions[0].committed == 5);
  CHECK(d.partitions[1].committed == 3);
  CHECK(d.partitions[0].lag == 0);
  CHECK(node.describe_group("other").partitions.at(0).committed == 4);  // another group is untouched
  CHECK(node.reset_group_offsets("g", "a", rill::OffsetReset::earliest) == Offsets{{{"a", 0}, 0}, {{"a", 1}, 0}});
}
