// Durable topics under CleanupPolicy::compact, end to end: the node's
// cleaner thread compacts closed segments in the background, a consumer
// polling across the gaps sees exactly the kept records in offset order
// (also after a reopen), end offsets and lag do not change, keyless sends
// are refused, and __consumer_offsets stays small under many commits.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/rill.hpp"
#include "test_util.hpp"
#include "storage/topic_options.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  rill::test::TempDir scratch{"rill-compacted-topic", false};
  fs::path path{scratch.path()};
};

rill::TopicOptions compacted(std::chrono::milliseconds tombstone_retention = 24h) {
  return {.partitions = 1, .storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024,
          .cleanup = rill::CleanupPolicy::compact, .tombstone_retention = tombstone_retention};
}

struct Seen {
  std::int64_t offset;
  std::string key;
  std::optional<std::string> value;
  bool operator==(const Seen&) const = default;
};

// Everything from the beginning of partition 0, in poll order.
std::vector<Seen> read_from_start(const rill::Node& node, const std::string& topic) {
  rill::Consumer consumer(node, {.max_poll_records = 97});
  consumer.assign({{topic, 0}});
  consumer.seek_to_beginning({{topic, 0}});
  std::vector<Seen> seen;
  for (;;) {
    const auto records = consumer.poll(0ms);
    if (records.empty()) break;
    for (const rill::RecordView& r : records) {
      std::optional<std::string> value;
      if (r.has_value()) value = std::string(r.value());
      seen.push_back({r.offset(), std::string(r.key()), value});
    }
  }
  CHECK(consumer.position({topic, 0}) == node.describe_topic(topic).partitions.at(0).end_offset);
  CHECK(consumer.lag({topic, 0}) == 0);
  return seen;
}

// Base offset of the active (newest) segment of a partition folder, and how
// many segment files it has.
std::pair<std::int64_t, std::size_t> segments_of(const fs::path& folder) {
  std::int64_t newest = 0;
  std::size_t count = 0;
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (name.size() != 24 || !name.ends_with(".log")) continue;
    newest = std::max<std::int64_t>(newest, std::stoll(name.substr(0, 20)));
    ++count;
  }
  return {newest, count};
}

// What compaction leaves: records of closed segments that are their key's
// newest, and everything in the active segment.
std::vector<Seen> expected(const std::vector<Seen>& written, std::int64_t active_base) {
  std::map<std::string, std::int64_t> newest;
  for (const Seen& s : written) newest[s.key] = s.offset;
  std::vector<Seen> out;
  for (const Seen& s : written) {
    if (s.offset >= active_base || newest[s.key] == s.offset) out.push_back(s);
  }
  return out;
}

// Polls `done` until it holds or a generous deadline passes (the cleaner
// checks every 200 ms); returns its last answer.
template <typename F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

}  // namespace

TEST_CASE("compacted topic: a consumer across the gaps sees exactly the kept records in offset order",
          "[topic][compaction]") {
  TempDir dir;
  std::vector<Seen> written;
  std::vector<Seen> compacted_view;
  const fs::path folder = rill::storage::partition_dir(dir.path.string(), "prices", 0);
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("prices", compacted());
    rill::Producer producer(node, {});
    const std::string pad(40, 'x');
    for (int i = 0; i < 3000; ++i) {
      const std::string key = "item" + std::to_string(i % 23);
      const std::string value = "price" + std::to_string(i) + pad;
      const rill::RecordMetadata md = producer.send("prices", {.key = key, .value = value}).get();
      written.push_back({md.offset, key, value});
    }
    REQUIRE(segments_of(folder).second > 3);
    const bool compacted_in_time = eventually([&] {
      compacted_view = read_from_start(node, "prices");
      return compacted_view == expected(written, segments_of(folder).first);
    });
    CHECK(compacted_in_time);
    CHECK(compacted_view.size() < written.size());
    CHECK(node.describe_topic("prices").partitions.at(0).end_offset == 3000);
    CHECK(node.describe_topic("prices").partitions.at(0).start_offset == 0);
  }
  rill::Node node = rill::Node::open(dir.path);
  CHECK(read_from_start(node, "prices") == compacted_view);
}

TEST_CASE("compacted topic: a seek into a gap lands on the next kept record", "[topic][compaction]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("c", compacted());
  rill::Producer producer(node, {});
  const std::string pad(100, 'p');
  std::vector<Seen> written;
  for (int i = 0; i < 2000; ++i) {
    const std::string key = i % 2 == 0 ? "even" : "odd" + std::to_string(i);  // "even" is superseded
    const rill::RecordMetadata md = producer.send("c", {.key = key, .value = pad}).get();
    written.push_back({md.offset, key, pad});
  }
  const fs::path folder = rill::storage::partition_dir(dir.path.string(), "c", 0);
  REQUIRE(eventually([&] { return read_from_start(node, "c") == expected(written, segments_of(folder).first); }));
  rill::Consumer consumer(node, {.max_poll_records = 1});
  consumer.assign({{"c", 0}});
  consumer.seek({"c", 0}, 10);  // "even" at 10 was compacted away: 11 is next
  const auto records = consumer.poll(1s);
  REQUIRE(records.size() == 1);
  CHECK(records.begin()->offset() == 11);
}

TEST_CASE("compacted topic: a record without a key is refused by send and try_send, a tombstone is accepted",
          "[topic][compaction]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("c", compacted());
  rill::Producer producer(node, {});
  try {
    (void)producer.send("c", {.value = std::string_view("no key")});
    FAIL("a keyless record was accepted");
  } catch (const rill::Error& e) {
    CHECK(e.code() == rill::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("key") != std::string::npos);
  }
  CHECK(producer.try_send("c", {.value = std::string_view("no key")}) == rill::SendStatus::invalid);
  CHECK(producer.send("c", {.key = std::string_view("k"), .value = std::nullopt}).get().offset == 0);
  rill::RecordMetadata md;
  CHECK(producer.try_send("c", {.key = std::string_view("k"), .value = std::string_view("v")}, &md) ==
        rill::SendStatus::ok);
  CHECK(md.offset == 1);
}

TEST_CASE("compacted topic: __consumer_offsets stays small after many commits and keeps the last one",
          "[topic][compaction][groups]") {
  TempDir dir;
  const rill::TopicPartition tp{"t", 0};
  const int commits = 35'000;
  const fs::path folder = rill::storage::partition_dir(dir.path.string(), "__consumer_offsets", 0);
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("t", {.storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024});
    rill::Consumer consumer(node, {.group = "g"});
    consumer.assign({tp});
    for (int i = 1; i <= commits; ++i) consumer.commit({{tp, i}});
    CHECK(segments_of(folder).first > 0);  // segments were rolled
    REQUIRE(eventually([&] { return segments_of(folder).second <= 2; }));
    std::uintmax_t bytes = 0;
    for (const auto& e : fs::directory_iterator(folder)) bytes += fs::file_size(e.path());
    CHECK(bytes < std::uintmax_t{3} << 20);  // the 1 MiB active segment, its indexes, a small first one
    CHECK(consumer.committed(tp) == commits);
  }
  rill::Node node = rill::Node::open(dir.path);
  rill::Consumer consumer(node, {.group = "g"});
  CHECK(consumer.committed(tp) == commits);
}

TEST_CASE("compacted topic: a tombstone past its retention is removed with its key's older records",
          "[topic][compaction]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("c", compacted(0ms));
  rill::Producer producer(node, {});
  (void)producer.send("c", {.key = std::string_view("gone"), .value = std::string_view("v1")}).get();
  (void)producer.send("c", {.key = std::string_view("gone"), .value = std::nullopt}).get();
  (void)producer.send("c", {.key = std::string_view("stays"), .value = std::string_view("s1")}).get();
  const std::string pad(200, 'f');
  for (int i = 0; i < 1500; ++i) {
    (void)producer.send("c", {.key = std::string_view("filler"), .value = pad}).get();
  }
  const bool removed = eventually([&] {
    const std::vector<Seen> seen = read_from_start(node, "c");
    return std::none_of(seen.begin(), seen.end(), [](const Seen& s) { return s.key == "gone"; }) &&
           !seen.empty() && seen.front() == Seen{2, "stays", std::string("s1")};
  });
  CHECK(removed);
}
