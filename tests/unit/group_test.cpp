// In-process consumer groups: rebalancing, listeners, committed offsets,
// session timeouts, independent groups.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rill/rill.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using rill::TopicPartition;
using TPs = std::vector<TopicPartition>;

namespace {

TPs all_of(const std::string& topic, std::int32_t n) {
  TPs out;
  for (std::int32_t p = 0; p < n; ++p) out.push_back({topic, p});
  return out;
}

// Polls every consumer in turn until `done()` or 5 s pass. At every step no
// partition may be assigned to two members of one group.
template <class Done>
bool settle(std::vector<rill::Consumer*> consumers, Done done) {
  for (int round = 0; round < 500; ++round) {
    for (rill::Consumer* c : consumers) (void)c->poll(1ms);
    std::set<std::pair<std::string, TopicPartition>> owned;  // (group, partition)
    for (rill::Consumer* c : consumers) {
      const std::string id = c->member_id();
      const std::string group = id.substr(0, id.rfind('-'));
      for (const TopicPartition& tp : c->assignment()) CHECK(owned.insert({group, tp}).second);
    }
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

struct Recorder : rill::RebalanceListener {
  std::vector<std::string> events;
  void on_partitions_revoked(const TPs& tps) override { events.push_back("revoked " + names(tps)); }
  void on_partitions_assigned(const TPs& tps) override { events.push_back("assigned " + names(tps)); }
  static std::string names(const TPs& tps) {
    std::string s;
    for (const auto& tp : tps) s += (s.empty() ? "" : ",") + tp.topic + std::to_string(tp.partition);
    return s;
  }
};

}  // namespace

TEST_CASE("group: members share partitions by range and rebalance on join and leave", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 4});
  rill::Consumer a(node, {.group = "g"});
  a.subscribe({"t"});
  CHECK(settle({&a}, [&] { return a.assignment() == all_of("t", 4); }));
  {
    rill::Consumer b(node, {.group = "g"});
    b.subscribe({"t"});
    CHECK(settle({&a, &b}, [&] {
      return a.assignment() == TPs{{"t", 0}, {"t", 1}} && b.assignment() == TPs{{"t", 2}, {"t", 3}};
    }));
    CHECK(a.member_id() < b.member_id());
  }  // b leaves
  CHECK(settle({&a}, [&] { return a.assignment() == all_of("t", 4); }));
}

TEST_CASE("group: round robin deals all topic-partitions in turn", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("x", {.partitions = 3});
  node.create_topic("y", {.partitions = 3});
  const rill::ConsumerOptions options{.group = "rr", .assignment = rill::AssignmentStrategy::round_robin};
  rill::Consumer a(node, options);
  rill::Consumer b(node, options);
  a.subscribe({"x", "y"});
  b.subscribe({"x", "y"});
  CHECK(settle({&a, &b}, [&] {
    return a.assignment() == TPs{{"x", 0}, {"x", 2}, {"y", 1}} &&
           b.assignment() == TPs{{"x", 1}, {"y", 0}, {"y", 2}};
  }));
}

TEST_CASE("group: listeners hear revocations before assignments, and topic changes rebalance", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 2});
  Recorder ra, rb;
  rill::Consumer a(node, {.group = "g"});
  a.subscribe({"t", "later"}, &ra);
  CHECK(settle({&a}, [&] { return a.assignment().size() == 2; }));
  CHECK(ra.events == std::vector<std::string>{"assigned t0,t1"});
  rill::Consumer b(node, {.group = "g"});
  b.subscribe({"t"}, &rb);
  CHECK(settle({&a, &b}, [&] { return b.assignment().size() == 1; }));
  CHECK(ra.events == std::vector<std::string>{"assigned t0,t1", "revoked t1"});
  CHECK(rb.events == std::vector<std::string>{"assigned t1"});
  // A topic created later joins the subscription; only `a` subscribes to it.
  node.create_topic("later", {.partitions = 2});
  CHECK(settle({&a, &b}, [&] { return a.assignment().size() == 3; }));
  CHECK(a.assignment() == TPs{{"later", 0}, {"later", 1}, {"t", 0}});
  CHECK(ra.events.back() == "assigned later0,later1");
  node.delete_topic("later");
  CHECK(settle({&a, &b}, [&] { return a.assignment() == TPs{{"t", 0}}; }));
  CHECK(ra.events.back() == "revoked later0,later1");
  b.close();
  CHECK(rb.events.back() == "revoked t1");
}

TEST_CASE("group: a new member resumes from the group's committed offsets", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t");
  rill::Producer producer(node);
  for (int i = 0; i < 10; ++i) (void)producer.send("t", {.value = "v" + std::to_string(i)}).get();
  const rill::ConsumerOptions options{.group = "g", .auto_offset_reset = rill::OffsetReset::earliest,
                                      .max_poll_records = 4};
  {
    rill::Consumer first(node, options);
    first.subscribe({"t"});
    std::vector<std::int64_t> offsets;
    for (int i = 0; i < 200 && offsets.empty(); ++i) {
      for (const auto& r : first.poll(5ms)) offsets.push_back(r.offset());
    }
    CHECK(offsets == std::vector<std::int64_t>{0, 1, 2, 3});
    first.commit();
  }
  rill::Consumer second(node, options);
  second.subscribe({"t"});
  std::vector<std::string> values;
  for (int i = 0; i < 200 && values.size() < 6; ++i) {
    for (const auto& r : second.poll(5ms)) values.emplace_back(r.value());
  }
  CHECK(values == std::vector<std::string>{"v4", "v5", "v6", "v7", "v8", "v9"});
  CHECK(second.committed({"t", 0}) == 4);
}

TEST_CASE("group: a member that stops polling is removed after its session timeout", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 2});
  const rill::ConsumerOptions options{.group = "g", .session_timeout = 100ms};
  Recorder rs;
  rill::Consumer silent(node, options);
  rill::Consumer busy(node, options);
  silent.subscribe({"t"}, &rs);
  busy.subscribe({"t"});
  CHECK(settle({&silent, &busy}, [&] { return silent.assignment().size() == 1 && busy.assignment().size() == 1; }));
  const TPs silent_had = silent.assignment();
  // Only `busy` polls now; after the timeout it owns both partitions.
  CHECK(settle({&busy}, [&] { return busy.assignment().size() == 2; }));
  // The silent member learns it was removed at its next poll, drops its
  // partition without reading, rejoins, and the group splits again.
  (void)silent.poll(0ms);
  CHECK(rs.events.at(1) == "revoked " + Recorder::names(silent_had));
  CHECK(settle({&silent, &busy}, [&] { return silent.assignment().size() == 1 && busy.assignment().size() == 1; }));
}

TEST_CASE("group: a commit from a removed member or for a partition it does not own fails and stores nothing", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 2});
  const rill::ConsumerOptions options{.group = "g", .session_timeout = 100ms};
  rill::Consumer silent(node, options);
  rill::Consumer busy(node, options);
  silent.subscribe({"t"});
  busy.subscribe({"t"});
  CHECK(settle({&silent, &busy}, [&] { return silent.assignment().size() == 1 && busy.assignment().size() == 1; }));
  const TopicPartition mine = silent.assignment().at(0);
  const TopicPartition theirs = busy.assignment().at(0);
  // A partition of another member: refused, and nothing of the commit is stored.
  try {
    silent.commit({{mine, 1}, {theirs, 7}});
    FAIL("a commit of another member's partition was accepted");
  } catch (const rill::Error& e) {
    CHECK(e.code() == rill::ErrorCode::commit_failed);
    CHECK(std::string(e.what()).find("partition " + std::to_string(theirs.partition) + " is not owned") !=
          std::string::npos);
  }
  CHECK_FALSE(silent.committed(mine).has_value());
  CHECK_FALSE(silent.committed(theirs).has_value());
  silent.commit({{mine, 1}});
  CHECK(silent.committed(mine) == 1);
  // Removed for silence (busy takes both partitions): the old owner's
  // commit cannot move the new owner's offsets back.
  CHECK(settle({&busy}, [&] { return busy.assignment().size() == 2; }));
  busy.commit({{mine, 5}});
  try {
    silent.commit({{mine, 2}});
    FAIL("a removed member's commit was accepted");
  } catch (const rill::Error& e) {
    CHECK(e.code() == rill::ErrorCode::commit_failed);
    CHECK(std::string(e.what()).find("no longer in the group") != std::string::npos);
  }
  CHECK(busy.committed(mine) == 5);
}

TEST_CASE("group: a released partition's gate holds back a blocked producer at the committed offset until its next owner takes it", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.capacity_bytes = 64 * 1024, .full_policy = rill::FullPolicy::block,
                          .block_timeout = 50ms});
  rill::Producer producer(node);
  const std::string value(1000, 'x');
  const TopicPartition tp{"t", 0};
  const rill::ConsumerOptions options{.group = "g", .auto_offset_reset = rill::OffsetReset::earliest};
  auto first = std::make_unique<rill::Consumer>(node, options);
  rill::Consumer second(node, options);
  first->subscribe({"t"});
  second.subscribe({"t"});
  CHECK(settle({first.get(), &second}, [&] { return first->assignment().size() + second.assignment().size() == 1; }));
  rill::Consumer* owner = first->assignment().empty() ? &second : first.get();
  rill::Consumer* other = owner == first.get() ? &second : first.get();
  for (int i = 0; i < 10; ++i) (void)producer.send("t", {.value = std::to_string(i) + value}).get();
  std::int64_t read = 0;
  for (int i = 0; i < 500 && read < 10; ++i) read += static_cast<std::int64_t>(owner->poll(2ms).size());
  REQUIRE(read == 10);
  owner->commit({{tp, 3}});  // processed 0..2 only
  // The owner goes away: its partition is released, and the other member
  // (which targets it after the rebalance) has not taken it yet.
  if (owner == first.get()) {
    first.reset();
  } else {
    second.unsubscribe();
  }
  // Nobody reads now, but the group's gate stays at offset 3: the producer
  // fills the ring and then waits (block) until its timeout.
  std::int64_t sent = 10;
  bool blocked = false;
  for (; sent < 1000; ++sent) {
    try {
      (void)producer.send("t", {.value = std::to_string(sent) + value}).get();
    } catch (const rill::Error& e) {
      CHECK(e.code() == rill::ErrorCode::timeout);
      blocked = true;
      break;
    }
  }
  REQUIRE(blocked);
  CHECK(sent < 100);  // the ring holds about 60 such records
  // The next owner starts at the committed offset: nothing after it was dropped.
  std::vector<std::int64_t> offsets;
  for (int i = 0; i < 500 && static_cast<std::int64_t>(offsets.size()) < sent - 3; ++i) {
    for (const rill::RecordView& r : other->poll(2ms)) {
      CHECK(r.value().substr(0, std::to_string(r.offset()).size()) == std::to_string(r.offset()));
      offsets.push_back(r.offset());
    }
  }
  REQUIRE(static_cast<std::int64_t>(offsets.size()) == sent - 3);
  for (std::size_t i = 0; i < offsets.size(); ++i) CHECK(offsets[i] == static_cast<std::int64_t>(3 + i));
}

TEST_CASE("group: records a poll returned stay readable after their topic is deleted", "[group]") {
  rill::test::TempDir dir{"rill-group-lease-test", false};
  rill::Node node = rill::Node::open(dir.path());
  node.create_topic("d", {.storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024});
  rill::Producer producer(node);
  for (int i = 0; i < 20; ++i) (void)producer.send("d", {.value = "value-" + std::to_string(i)}).get();
  rill::Consumer consumer(node, {.auto_offset_reset = rill::OffsetReset::earliest});
  consumer.assign({{"d", 0}});
  rill::PollResult got;
  for (int i = 0; i < 200 && got.empty(); ++i) got = consumer.poll(5ms);
  REQUIRE(got.size() == 20);
  // The segment files go; the lease behind this poll's views keeps their bytes.
  node.delete_topic("d");
  std::int64_t expected = 0;
  for (const rill::RecordView& r : got) {
    CHECK(r.offset() == expected);
    CHECK(r.value() == "value-" + std::to_string(expected));
    ++expected;
  }
}

TEST_CASE("group: two groups each read every record", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 3});
  rill::Consumer g1(node, {.group = "one", .auto_offset_reset = rill::OffsetReset::earliest});
  rill::Consumer g2a(node, {.group = "two", .auto_offset_reset = rill::OffsetReset::earliest});
  rill::Consumer g2b(node, {.group = "two", .auto_offset_reset = rill::OffsetReset::earliest});
  g1.subscribe({"t"});
  g2a.subscribe({"t"});
  g2b.subscribe({"t"});
  CHECK(settle({&g1, &g2a, &g2b}, [&] {
    return g1.assignment().size() == 3 && g2a.assignment().size() + g2b.assignment().size() == 3 &&
           !g2a.assignment().empty() && !g2b.assignment().empty();
  }));
  rill::Producer producer(node);
  for (int i = 0; i < 300; ++i) (void)producer.send("t", {.key = std::to_string(i), .value = std::to_string(i)});
  producer.flush();
  std::multiset<std::string> one, two;
  for (int round = 0; round < 1000 && (one.size() < 300 || two.size() < 300); ++round) {
    for (const auto& r : g1.poll(1ms)) one.insert(std::string(r.value()));
    for (const auto& r : g2a.poll(1ms)) two.insert(std::string(r.value()));
    for (const auto& r : g2b.poll(1ms)) two.insert(std::string(r.value()));
  }
  std::multiset<std::string> expected;
  for (int i = 0; i < 300; ++i) expected.insert(std::to_string(i));
  CHECK(one == expected);
  CHECK(two == expected);
}

TEST_CASE("group: cooperative sticky keeps what members had while staying balanced", "[group]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 6});
  const rill::ConsumerOptions options{.group = "s", .assignment = rill::AssignmentStrategy::cooperative_sticky};
  rill::Consumer a(node, options);
  rill::Consumer b(node, options);
  a.subscribe({"t"});
  b.subscribe({"t"});
  CHECK(settle({&a, &b}, [&] { return a.assignment().size() == 3 && b.assignment().size() == 3; }));
  const TPs a_had = a.assignment();
  const TPs b_had = b.assignment();
  std::optional<rill::Consumer> c(std::in_place, node, options);
  c->subscribe({"t"});
  CHECK(settle({&a, &b, &*c}, [&] {
    return a.assignment().size() == 2 && b.assignment().size() == 2 && c->assignment().size() == 2;
  }));
  // Each old member kept two of its own partitions.
  for (const auto& tp : a.assignment()) CHECK(std::find(a_had.begin(), a_had.end(), tp) != a_had.end());
  for (const auto& tp : b.assignment()) CHECK(std::find(b_had.begin(), b_had.end(), tp) != b_had.end());
  const TPs a_kept = a.assignment();
  c.reset();  // c leaves: a and b keep theirs and share c's
  CHECK(settle({&a, &b}, [&] { return a.assignment().size() == 3 && b.assignment().size() == 3; }));
  const TPs a_now = a.assignment();
  for (const auto& tp : a_kept) CHECK(std::find(a_now.begin(), a_now.end(), tp) != a_now.end());
}
