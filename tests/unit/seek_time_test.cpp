// Seek by timestamp: Consumer::offsets_for_times and seek_to_timestamp on
// memory and durable topics, with records of explicit timestamps, one per
// batch and several per batch (out of order inside a batch), before the
// first, between, exactly at and after the last; across many durable
// segments and after a reopen (the time index).
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "rill/rill.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test (created by Node::open), removed afterwards.
struct TempDir {
  rill::test::TempDir scratch{"rill-seek-time-test", false};
  fs::path path{scratch.path()};
};

rill::TopicOptions options_for(rill::StorageKind storage) {
  rill::TopicOptions o;
  o.partitions = 1;
  o.storage = storage;
  if (storage == rill::StorageKind::durable) o.segment_bytes = 64 * 1024;
  return o;
}

// Sends records with these timestamps to t-0: one batch per record, or all
// in one batch (a long linger, then flush).
void send_all(rill::Node& node, const std::vector<std::int64_t>& timestamps, bool one_batch) {
  rill::ProducerOptions po;
  if (one_batch) po.linger = std::chrono::hours(1);
  rill::Producer producer(node, po);
  for (std::size_t i = 0; i < timestamps.size(); ++i) {
    const std::string value = "v" + std::to_string(i);
    if (one_batch) {
      rill::RecordMetadata md;
      REQUIRE(producer.try_send("t", {.value = value, .timestamp = timestamps[i], .partition = 0}, &md) ==
              rill::SendStatus::ok);
      CHECK(md.offset == -1);  // waits in the open batch until flush()
    } else {
      (void)producer.send("t", {.value = value, .timestamp = timestamps[i], .partition = 0}).get();
    }
  }
  producer.flush();
}

std::int64_t offset_for(rill::Consumer& c, std::int64_t timestamp_ms) {
  return c.offsets_for_times({{{"t", 0}, timestamp_ms}}).at({"t", 0});
}

// Seeks by time, then polls: the first record returned is at the offset
// found, and has a timestamp >= the one asked for.
void check_seek(rill::Consumer& c, std::int64_t timestamp_ms, std::int64_t expected) {
  CAPTURE(timestamp_ms);
  CHECK(offset_for(c, timestamp_ms) == expected);
  CHECK(c.seek_to_timestamp({"t", 0}, timestamp_ms) == expected);
  CHECK(c.position({"t", 0}) == expected);
  const auto records = c.poll(0ms);
  if (records.empty()) {
    CHECK(c.lag({"t", 0}) == 0);  // at the end: nothing to read
    return;
  }
  CHECK(records[0].offset() == expected);
  CHECK(records[0].timestamp() >= timestamp_ms);
  CHECK(std::string(records[0].value()) == "v" + std::to_string(expected));
}

void check_small_log(rill::Node& node) {
  rill::Consumer c(node);
  c.assign({{"t", 0}});
  // Offsets:          0     1     2     3     4     5
  // Timestamps:    1000  2000  2000  4000  3000  5000
  check_seek(c, 0, 0);        // before the first
  check_seek(c, 1000, 0);     // exactly the first
  check_seek(c, 1500, 1);     // between
  check_seek(c, 2000, 1);     // exactly at, two records share it: the earliest
  check_seek(c, 2001, 3);     // 4000 comes before 3000
  check_seek(c, 3000, 3);
  check_seek(c, 4500, 5);
  check_seek(c, 5000, 5);     // exactly the last
  check_seek(c, 5001, 6);     // after the last: the end
  check_seek(c, INT64_MAX, 6);
  check_seek(c, INT64_MIN, 0);
}

const std::vector<std::int64_t> kSmall{1000, 2000, 2000, 4000, 3000, 5000};

}  // namespace

TEST_CASE("seek by time: a memory topic, one record per batch and all in one batch", "[consumer][seek]") {
  for (const bool one_batch : {false, true}) {
    CAPTURE(one_batch);
    rill::Node node = rill::Node::in_memory();
    node.create_topic("t", options_for(rill::StorageKind::memory));
    send_all(node, kSmall, one_batch);
    REQUIRE(node.describe_topic("t").partitions[0].end_offset == 6);
    check_small_log(node);
  }
}

TEST_CASE("seek by time: a durable topic, one record per batch and all in one batch, before and after a reopen", "[consumer][seek][durable]") {
  for (const bool one_batch : {false, true}) {
    CAPTURE(one_batch);
    TempDir dir;
    {
      rill::Node node = rill::Node::open(dir.path);
      node.create_topic("t", options_for(rill::StorageKind::durable));
      send_all(node, kSmall, one_batch);
      REQUIRE(node.describe_topic("t").partitions[0].end_offset == 6);
      check_small_log(node);
    }
    rill::Node node = rill::Node::open(dir.path);
    check_small_log(node);
  }
}

TEST_CASE("seek by time: an empty topic answers its end", "[consumer][seek]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("t", options_for(rill::StorageKind::durable));
  node.create_topic("m", {});
  rill::Consumer c(node);
  const auto found = c.offsets_for_times({{{"t", 0}, 0}, {{"m", 0}, 0}});
  CHECK(found == std::map<rill::TopicPartition, std::int64_t>{{{"m", 0}, 0}, {{"t", 0}, 0}});
}

TEST_CASE("seek by time: many records over many durable segments match a scan, on both kinds", "[consumer][seek][durable]") {
  const std::uint64_t seed = rill::test::seed();
  TempDir dir;
  rill::Node durable_node = rill::Node::open(dir.path);
  rill::Node memory_node = rill::Node::in_memory();
  durable_node.create_topic("t", options_for(rill::StorageKind::durable));
  memory_node.create_topic("t", {.capacity_bytes = 4 << 20});
  // Timestamps rise by 1 to 10 ms per record.
  std::vector<std::int64_t> timestamps;
  std::uint64_t state = seed | 1;
  std::int64_t now = 1'700'000'000'000;
  const int count = 400;
  for (int i = 0; i < count; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    now += 1 + static_cast<std::int64_t>(state % 10);
    timestamps.push_back(now);
  }
  const std::string pad(400, 'p');
  for (rill::Node* node : {&durable_node, &memory_node}) {
    rill::Producer producer(*node);
    for (int i = 0; i < count; ++i) {
      (void)producer.send("t", {.value = "v" + std::to_string(i) + pad, .timestamp = timestamps[i], .partition = 0})
          .get();
    }
  }
  std::size_t segments = 0;
  for (const auto& e : fs::directory_iterator(dir.path / "t-0")) segments += e.path().extension() == ".log";
  CHECK(segments > 2);
  for (rill::Node* node : {&durable_node, &memory_node}) {
    rill::Consumer c(*node);
    c.assign({{"t", 0}});
    for (int i = 0; i < count; i += 7) {
      for (const std::int64_t delta : {-1, 0, 1}) {
        const std::int64_t target = timestamps[static_cast<std::size_t>(i)] + delta;
        std::int64_t expected = count;
        for (int k = 0; k < count; ++k) {
          if (timestamps[static_cast<std::size_t>(k)] >= target) {
            expected = k;
            break;
          }
        }
        CAPTURE(i, delta);
        CHECK(offset_for(c, target) == expected);
        CHECK(c.seek_to_timestamp({"t", 0}, target) == expected);
      }
    }
  }
}

TEST_CASE("seek by time: errors name what is missing", "[consumer][seek]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {});
  rill::Consumer c(node);
  CHECK(rill::test::error_of([&] { (void)c.seek_to_timestamp({"t", 0}, 0); }) == rill::ErrorCode::not_found);
  CHECK(rill::test::error_of([&] { (void)c.offsets_for_times({{{"nope", 0}, 0}}); }) == rill::ErrorCode::not_found);
  CHECK(rill::test::error_of([&] { (void)c.offsets_for_times({{{"t", 3}, 0}}); }) == rill::ErrorCode::not_found);
}
