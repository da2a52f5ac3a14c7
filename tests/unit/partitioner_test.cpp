// The partitioner: keys hash to stable partitions, keyless records follow the
// sticky or round-robin rule, explicit partitions are honoured.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "rill/rill.hpp"
#include "test_util.hpp"
#include "client/partitioner.hpp"

using namespace std::chrono_literals;
using rill::client::KeylessPartitioner;
using rill::client::partition_for_key;

TEST_CASE("partitioner: the same key always maps to the same partition", "[topic][partitioner]") {
  for (std::int32_t n : {1, 2, 3, 4, 7, 64}) {
    for (int i = 0; i < 200; ++i) {
      const std::string key = "user-" + std::to_string(i);
      const std::int32_t p = partition_for_key(key, n);
      CHECK(p >= 0);
      CHECK(p < n);
      CHECK(partition_for_key(key, n) == p);
    }
  }
  // XXH3-64 of the key, mod the partition count.
  const std::string_view key = "user-42";
  CHECK(partition_for_key(key, 4) == static_cast<std::int32_t>(XXH3_64bits(key.data(), key.size()) % 4));
}

TEST_CASE("partitioner: keys spread over all partitions", "[topic][partitioner]") {
  constexpr std::int32_t kPartitions = 8;
  std::vector<int> counts(kPartitions);
  for (int i = 0; i < 8000; ++i) ++counts[partition_for_key("k" + std::to_string(i), kPartitions)];
  for (int c : counts) {
    CHECK(c > 700);   // 1000 expected
    CHECK(c < 1300);
  }
}

TEST_CASE("partitioner: round robin visits every partition in turn", "[topic][partitioner]") {
  KeylessPartitioner rr(rill::KeylessPartitioning::round_robin, 3, 0);
  std::vector<std::int32_t> seen;
  for (int i = 0; i < 7; ++i) seen.push_back(rr.next());
  CHECK(seen == std::vector<std::int32_t>{0, 1, 2, 0, 1, 2, 0});
}

TEST_CASE("partitioner: sticky stays on one partition until its batch is sent", "[topic][partitioner]") {
  KeylessPartitioner sticky(rill::KeylessPartitioning::sticky, 4, 2);
  CHECK(sticky.next() == 2);
  CHECK(sticky.next() == 2);
  sticky.batch_sent(1);  // another partition's batch: no move
  CHECK(sticky.next() == 2);
  sticky.batch_sent(2);
  CHECK(sticky.next() == 3);
  sticky.batch_sent(3);
  CHECK(sticky.next() == 0);
}

TEST_CASE("partitioner: a producer puts keyed, keyless and explicit records where they belong",
          "[topic][partitioner]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 4});
  SECTION("keyed records follow the hash") {
    rill::Producer producer(node);
    for (int i = 0; i < 50; ++i) {
      const std::string key = "key-" + std::to_string(i);
      const auto md = producer.send("t", {.key = key, .value = "v"}).get();
      CHECK(md.partition == partition_for_key(key, 4));
    }
  }
  SECTION("explicit partitions are honoured, out of range is an error") {
    rill::Producer producer(node);
    CHECK(producer.send("t", {.key = "k", .value = "v", .partition = 3}).get().partition == 3);
    CHECK(producer.send("t", {.value = "v", .partition = 0}).get().partition == 0);
    CHECK_THROWS_AS(producer.send("t", {.value = "v", .partition = 4}), rill::Error);
    CHECK_THROWS_AS(producer.send("t", {.value = "v", .partition = -7}), rill::Error);
    CHECK(producer.try_send("t", {.value = "v", .partition = 9}) == rill::SendStatus::not_found);
  }
  SECTION("keyless records with round robin cycle") {
    rill::Producer producer(node, {.keyless = rill::KeylessPartitioning::round_robin});
    std::vector<std::int32_t> seen;
    for (int i = 0; i < 8; ++i) seen.push_back(producer.send("t", {.value = "v"}).get().partition);
    for (int i = 1; i < 8; ++i) CHECK(seen[static_cast<std::size_t>(i)] == (seen[static_cast<std::size_t>(i - 1)] + 1) % 4);
  }
  SECTION("keyless sticky records share a batch, then move") {
    rill::Producer producer(node, {.linger = 10s});
    std::vector<rill::SendFuture> futures;
    for (int i = 0; i < 10; ++i) futures.push_back(producer.send("t", {.value = "v"}));
    producer.flush();
    std::set<std::int32_t> first_batch;
    std::vector<std::int64_t> offsets;
    for (auto& f : futures) {
      const auto md = f.get();
      first_batch.insert(md.partition);
      offsets.push_back(md.offset);
    }
    CHECK(first_batch.size() == 1);  // all in one partition's batch
    for (std::size_t i = 0; i < offsets.size(); ++i) CHECK(offsets[i] == static_cast<std::int64_t>(i));
    const auto next = producer.send("t", {.value = "v"});
    producer.flush();
    auto moved = std::move(const_cast<rill::SendFuture&>(next));
    CHECK(moved.get().partition != *first_batch.begin());  // the batch was sent: moved on
  }
}
