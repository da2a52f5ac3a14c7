// Group commit through one Producer: concurrent sends to one durable
// FsyncPolicy::every_batch partition append under the producer's
// partition lock, release it, and share the fdatasync that covers them.
// A sync is held at a gate (support/gated_file_system.hpp) while other
// sends append, so what is asserted does not depend on machine speed:
// the sends appended behind a held sync are acknowledged durable by one
// shared sync, and a failed shared sync fails every send it covered.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

#include "broker/local_broker.hpp"
#include "client/producer_impl.hpp"
#include "rill/rill.hpp"
#include "storage/durable_partition.hpp"
#include "storage/topic_options.hpp"
#include "support/gated_file_system.hpp"

namespace {

using namespace std::chrono_literals;
using rill::log::GatedFileSystem;

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-producer-group-commit", false) {}
};

rill::TopicOptions every_batch_topic() {
  return {.storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024,
          .fsync = rill::FsyncPolicy::every_batch};
}

// A broker holding one durable every_batch topic "t" of one partition,
// written through `fs`, and a producer on it (linger 0: each send appends
// its own batch). The file system must outlive the broker.
struct GatedTopic {
  GatedTopic(const std::string& dir, GatedFileSystem& fs) {
    rill::log::SegmentLogOptions lo;
    lo.segment_bytes = 64 * 1024;
    lo.fsync_policy = rill::FsyncPolicy::every_batch;
    auto state = std::make_shared<rill::storage::TopicState>();
    state->name = "t";
    state->options = rill::storage::resolve_topic_options("t", every_batch_topic(), rill::StorageKind::durable);
    auto owned = std::make_unique<rill::storage::DurablePartition>(rill::log::SegmentLog::open(dir + "/t-0", lo, fs),
                                                                  state->options, "t-0", &broker->data_signal);
    partition = owned.get();
    state->partitions.push_back(std::move(owned));
    broker->topics.emplace("t", state);
    producer.emplace(broker, rill::ProducerOptions{});
  }
  ~GatedTopic() { producer.reset(); }

  std::shared_ptr<rill::broker::LocalBroker> broker = std::make_shared<rill::broker::LocalBroker>();
  rill::storage::DurablePartition* partition = nullptr;
  std::optional<rill::client::ProducerImpl> producer;
};

// What one send came back with, recorded on its thread (Catch is not
// thread-safe: the test thread checks it after the join).
struct Sent {
  bool ok = false;
  rill::RecordMetadata metadata;
  std::string error;
};

Sent send_one(rill::client::ProducerImpl& producer, const std::string& value) {
  Sent sent;
  try {
    sent.metadata = producer.send("t", {.value = value}, nullptr).get();
    sent.ok = true;
  } catch (const rill::Error& e) {
    sent.error = e.what();
  }
  return sent;
}

// Waits until the partition holds `end` offsets: every send started has
// appended. Generous, so it bounds a hang, never the machine's speed.
bool wait_for_end(const rill::storage::DurablePartition& partition, std::int64_t end) {
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (partition.end_offset() < end && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  return partition.end_offset() >= end;
}

// One send is held in its sync at the gate; `followers` more sends through
// the same producer then append, each on its own thread. Returns once all
// appended (or the wait gave up), leaving the gate closed.
struct HeldSync {
  HeldSync(GatedTopic& topic, GatedFileSystem& fs, int count) : fs_(fs) {
    fs.close_gate();
    leader_thread = std::thread([&] { leader = send_one(*topic.producer, "leader"); });
    // The leader's sync is in flight, its lock released (the wait bounds a
    // hang, never the machine's speed).
    leader_syncing = fs.wait_for_waiter(60s);
    if (!leader_syncing) {
      fs.open_gate();
      return;
    }
    followers.resize(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      threads.emplace_back([&, i] { followers[i] = send_one(*topic.producer, "follower-" + std::to_string(i)); });
    }
    all_appended = wait_for_end(*topic.partition, 1 + count);
  }
  // Joins the senders (the gate must be open for them to finish).
  void join() {
    if (leader_thread.joinable()) leader_thread.join();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
  // A failed REQUIRE leaves the gate closed: open it and let them finish.
  ~HeldSync() {
    fs_.open_gate();
    join();
  }
  HeldSync(const HeldSync&) = delete;
  HeldSync& operator=(const HeldSync&) = delete;

  Sent leader;
  std::vector<Sent> followers;
  std::thread leader_thread;
  std::vector<std::thread> threads;
  bool leader_syncing = false;
  bool all_appended = false;

 private:
  GatedFileSystem& fs_;
};

}  // namespace

TEST_CASE("producer group commit: sends appended while a sync is in flight share the next one",
          "[producer][durable]") {
  TempDir dir;
  GatedFileSystem fs;
  GatedTopic topic(dir.path(), fs);
  const std::uint64_t syncs_before = topic.partition->metrics().syncs;
  fs.syncs = 0;  // creating the folder synced its recovery point
  constexpr int kFollowers = 3;
  HeldSync held(topic, fs, kFollowers);
  INFO(held.leader.error);
  REQUIRE(held.leader_syncing);
  // The followers appended while the leader's fdatasync was held: the
  // producer's partition lock is not held across a sync.
  CHECK(held.all_appended);
  CHECK(topic.partition->durable_end_offset() == 0);
  fs.open_gate();
  held.join();

  REQUIRE(held.leader.ok);
  CHECK(held.leader.metadata.offset == 0);
  CHECK(held.leader.metadata.durable);
  std::vector<std::int64_t> offsets;
  for (const Sent& s : held.followers) {
    REQUIRE(s.ok);
    CHECK(s.metadata.durable);
    offsets.push_back(s.metadata.offset);
  }
  std::sort(offsets.begin(), offsets.end());
  CHECK(offsets == std::vector<std::int64_t>{1, 2, 3});
  // The leader's sync covered its own batch; one more covered all three
  // followers' batches: two fdatasyncs for four batches.
  CHECK(fs.syncs.load() == 2);
  CHECK(topic.partition->metrics().syncs == syncs_before + 2);
  CHECK(topic.partition->durable_end_offset() == 1 + kFollowers);
  const rill::ProducerMetrics pm = topic.producer->metrics();
  CHECK(pm.batches_sent == 1 + kFollowers);
  CHECK(pm.records_sent == 1 + kFollowers);
}

TEST_CASE("producer group commit: a failed shared sync fails every send it covered, and later ones",
          "[producer][durable]") {
  TempDir dir;
  GatedFileSystem fs;
  GatedTopic topic(dir.path(), fs);
  constexpr int kFollowers = 3;
  HeldSync held(topic, fs, kFollowers);
  REQUIRE(held.leader_syncing);
  CHECK(held.all_appended);
  fs.fail_sync(2);  // the leader's sync succeeds; the one shared by the followers fails
  fs.open_gate();
  held.join();

  REQUIRE(held.leader.ok);
  CHECK(held.leader.metadata.durable);
  for (const Sent& s : held.followers) {
    CHECK_FALSE(s.ok);
    CHECK_THAT(s.error, Catch::Contains("t-0") && Catch::Contains("Input/output error (injected)"));
  }
  const rill::PartitionMetrics m = topic.partition->metrics();
  CHECK(m.sync_failures == 1);  // one fdatasync failed, for all three
  CHECK(topic.partition->durable_end_offset() == 1);
  const rill::ProducerMetrics pm = topic.producer->metrics();
  CHECK(pm.batches_sent == 1);
  CHECK(pm.send_errors.failed == kFollowers);
  // fsyncgate: the partition refuses writes until reopened.
  const Sent later = send_one(*topic.producer, "later");
  CHECK_FALSE(later.ok);
  CHECK_THAT(later.error, Catch::Contains("reopened"));
}

TEST_CASE("producer group commit: try_send waits for its sync without the lock and reports it",
          "[producer][durable]") {
  TempDir dir;
  GatedFileSystem fs;
  GatedTopic topic(dir.path(), fs);
  fs.close_gate();
  rill::SendStatus status = rill::SendStatus::closed;
  rill::RecordMetadata md;
  std::thread sender([&] { status = topic.producer->try_send("t", {.value = "tried"}, &md); });
  if (!fs.wait_for_waiter(60s)) {
    fs.open_gate();
    sender.join();
    FAIL("the try_send did not sync at the gate");
  }
  // The partition lock is free while the sync is held: another send appends.
  std::thread other([&] { (void)send_one(*topic.producer, "other"); });
  CHECK(wait_for_end(*topic.partition, 2));
  fs.open_gate();
  sender.join();
  other.join();
  CHECK(status == rill::SendStatus::ok);
  CHECK(md.offset == 0);
  CHECK(md.durable);

  fs.close_gate();
  fs.fail_sync(1);
  std::thread failing([&] { status = topic.producer->try_send("t", {.value = "lost"}, &md); });
  const bool syncing = fs.wait_for_waiter(60s);
  fs.open_gate();
  failing.join();
  CHECK(syncing);
  CHECK(status == rill::SendStatus::failed);
}

TEST_CASE("producer group commit: flush waits for the sync of a batch another thread appended",
          "[producer][durable]") {
  TempDir dir;
  GatedFileSystem fs;
  GatedTopic topic(dir.path(), fs);
  HeldSync held(topic, fs, 0);  // one send, held in its sync
  REQUIRE(held.leader_syncing);
  std::int64_t durable_after_flush = -1;
  std::thread flusher([&] {
    topic.producer->flush();  // no open batch: it shares the leader's sync
    durable_after_flush = topic.partition->durable_end_offset();
  });
  fs.open_gate();
  flusher.join();
  held.join();
  CHECK(durable_after_flush == 1);
  CHECK(held.leader.metadata.durable);
}

TEST_CASE("producer group commit: threads sharing one producer are all acknowledged durable, in order per thread",
          "[producer][durable]") {
  TempDir dir;
  constexpr int kThreads = 4;
  const int per_thread = 40 * rill::test::scale();
  std::atomic<int> not_durable{0};
  std::uint64_t syncs = 0;
  {
    rill::Node node = rill::Node::open(dir.path());
    node.create_topic("t", every_batch_topic());
    rill::Producer producer(node);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          try {
            const auto md = producer.send("t", {.key = std::to_string(t), .value = std::to_string(i)}).get();
            if (!md.durable) not_durable.fetch_add(1);
          } catch (const rill::Error&) {
            not_durable.fetch_add(1);
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const rill::TopicMetrics& m : node.metrics().topics) {
      if (m.name == "t") syncs = m.syncs;
    }
  }
  CHECK(not_durable.load() == 0);
  // At most one fdatasync per batch (fewer whenever sends overlapped).
  CHECK(syncs <= static_cast<std::uint64_t>(kThreads * per_thread));

  rill::Node node = rill::Node::open(dir.path());  // reopened: what the log holds on disk
  rill::Consumer consumer(node, {.auto_offset_reset = rill::OffsetReset::earliest});
  consumer.assign({{"t", 0}});
  std::vector<std::vector<int>> seen(kThreads);
  std::int64_t expected_offset = 0;
  for (;;) {
    const auto records = consumer.poll(0ms);
    if (records.empty()) break;
    for (const rill::RecordView& r : records) {
      CHECK(r.offset() == expected_offset++);
      seen.at(static_cast<std::size_t>(std::stoi(std::string(r.key())))).push_back(std::stoi(std::string(r.value())));
    }
  }
  for (const auto& values : seen) {
    REQUIRE(values.size() == static_cast<std::size_t>(per_thread));
    for (int i = 0; i < per_thread; ++i) CHECK(values[static_cast<std::size_t>(i)] == i);
  }
}
