// Group commit and the interval sync timer: sync tickets on the log
// (prepare under the writer, complete on another thread), appends under
// FsyncPolicy::every_batch sharing one fdatasync, a failed shared sync
// acknowledging nothing, and the timer syncing an idle interval partition.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "codec/batch_builder.hpp"
#include "support/fault_injecting_file_system.hpp"
#include "support/gated_file_system.hpp"
#include "log/segment_log.hpp"
#include "storage/durable_partition.hpp"
#include "storage/sync_timer.hpp"

namespace {

using namespace std::chrono_literals;
using rill::log::GatedFileSystem;
using rill::log::SegmentLog;
using rill::log::SegmentLogOptions;
using rill::log::SyncMode;
using rill::test::make_batch;

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-group-commit", false) {}
};

SegmentLogOptions every_batch_options() {
  SegmentLogOptions o;
  o.segment_bytes = 64 * 1024;
  o.fsync_policy = rill::FsyncPolicy::every_batch;
  return o;
}

rill::TopicOptions topic_options(rill::FsyncPolicy fsync) {
  return {.storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024, .fsync = fsync};
}

// Appends one single-record batch to `partition`. Runs on several threads,
// so no Catch assertion in here (Catch is not thread-safe): a record that
// does not fit reads as AppendStatus::too_large.
rill::storage::AppendResult append_one(rill::storage::DurablePartition& partition, const std::string& value) {
  rill::codec::BatchBuilder builder(1024);
  if (!builder.try_append({.value = value}, 1)) return {rill::storage::AppendStatus::too_large};
  return partition.append(builder.finish(), false, rill::detail::WaitClock::now());
}

}  // namespace

TEST_CASE("sync ticket: deferred appends are durable only once a ticket covering them completes", "[log][durable]") {
  TempDir dir;
  auto log = SegmentLog::open(dir.path(), every_batch_options());
  CHECK(log->append(make_batch(2, 10, "a"), 2, SyncMode::deferred).durable_end_offset == 0);
  CHECK(log->append(make_batch(3, 20, "b"), 3, SyncMode::deferred).durable_end_offset == 0);
  const rill::log::SyncTicket ticket = log->prepare_sync();
  CHECK(ticket.end_offset == 5);
  REQUIRE(ticket.ranges.size() == 1);
  // Appended after the ticket was taken: not covered by it.
  (void)log->append(make_batch(1, 30, "c"), 1, SyncMode::deferred);
  CHECK(log->durable_end_offset() == 0);
  log->complete_sync(ticket);
  CHECK(log->durable_end_offset() == 5);
  log->complete_sync(log->prepare_sync());
  CHECK(log->durable_end_offset() == 6);
  // Nothing left to sync: an empty ticket, and the durable end stays.
  const rill::log::SyncTicket empty = log->prepare_sync();
  CHECK(empty.ranges.empty());
  log->complete_sync(empty);
  CHECK(log->durable_end_offset() == 6);
  // The policy path still syncs inside append.
  CHECK(log->append(make_batch(1, 40, "d"), 1).durable_end_offset == 7);
}

TEST_CASE("sync ticket: a failed completion marks the log failed and moves no durable offset", "[log][durable]") {
  using Faulty = rill::log::FaultInjectingFileSystem;
  TempDir dir;
  Faulty faulty(rill::log::default_file_system());
  auto log = SegmentLog::open(dir.path(), every_batch_options(), faulty);
  (void)log->append(make_batch(2, 10, "a"), 2, SyncMode::deferred);
  log->complete_sync(log->prepare_sync());
  CHECK(log->durable_end_offset() == 2);
  (void)log->append(make_batch(2, 20, "b"), 2, SyncMode::deferred);
  const rill::log::SyncTicket ticket = log->prepare_sync();
  faulty.fail_call(Faulty::Op::sync, 1, Faulty::Fault::eio);
  CHECK_THROWS_AS(log->complete_sync(ticket), rill::Error);
  CHECK(log->failed());
  CHECK(log->durable_end_offset() == 2);
  CHECK_THROWS_WITH(log->prepare_sync(), Catch::Contains("refuses writes"));
  CHECK_THROWS_WITH(log->append(make_batch(1, 30, "c"), 1, SyncMode::deferred), Catch::Contains("refuses writes"));
}

TEST_CASE("group commit: appends waiting behind a sync share the next one", "[topic][durable]") {
  TempDir dir;
  GatedFileSystem gated;
  rill::detail::BlockingWait signal;
  rill::storage::DurablePartition partition(SegmentLog::open(dir.path() + "/t-0", every_batch_options(), gated),
                                          topic_options(rill::FsyncPolicy::every_batch), "t-0", &signal);
  gated.syncs = 0;  // creating the folder synced its recovery point
  gated.close_gate();
  rill::storage::AppendResult first;
  std::thread leader([&] { first = append_one(partition, "first"); });
  gated.wait_for_waiter();  // the leader's sync is held at the gate
  // Two more appends land while the leader syncs; both then wait for the
  // sync lock, and the first of them syncs for both.
  std::vector<rill::storage::AppendResult> followers(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] { followers[i] = append_one(partition, "follower-" + std::to_string(i)); });
  }
  while (partition.end_offset() < 3) std::this_thread::yield();
  gated.open_gate();
  leader.join();
  for (auto& t : threads) t.join();

  CHECK(first.status == rill::storage::AppendStatus::ok);
  CHECK(first.base_offset == 0);
  CHECK(first.durable);
  std::vector<std::int64_t> offsets;
  for (const auto& r : followers) {
    CHECK(r.status == rill::storage::AppendStatus::ok);
    CHECK(r.durable);
    offsets.push_back(r.base_offset);
  }
  std::sort(offsets.begin(), offsets.end());
  CHECK(offsets == std::vector<std::int64_t>{1, 2});
  CHECK(gated.syncs.load() == 2);  // three appends, two fdatasyncs
}

TEST_CASE("group commit: concurrent producers are all acknowledged durable, with dense offsets", "[topic][durable][stress]") {
  TempDir dir;
  GatedFileSystem gated;
  rill::detail::BlockingWait signal;
  rill::storage::DurablePartition partition(SegmentLog::open(dir.path() + "/t-0", every_batch_options(), gated),
                                          topic_options(rill::FsyncPolicy::every_batch), "t-0", &signal);
  constexpr int kThreads = 4;
  const int per_thread = 50 * rill::test::scale();
  std::vector<std::vector<std::int64_t>> offsets(kThreads);
  std::atomic<int> not_durable{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto r = append_one(partition, std::to_string(t) + "/" + std::to_string(i));
        if (r.status != rill::storage::AppendStatus::ok || !r.durable) not_durable.fetch_add(1);
        offsets[t].push_back(r.base_offset);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(not_durable.load() == 0);
  std::vector<std::int64_t> all;
  for (const auto& v : offsets) {
    CHECK(std::is_sorted(v.begin(), v.end()));  // each thread's appends in its order
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i) REQUIRE(all[i] == static_cast<std::int64_t>(i));
  CHECK(gated.syncs.load() <= kThreads * per_thread);
}

TEST_CASE("interval sync: the node timer syncs a partition whose producer went idle", "[topic][durable]") {
  TempDir dir;
  // The log's own interval is an hour, so no append syncs; the timer visits
  // every 20 ms.
  SegmentLogOptions lo;
  lo.segment_bytes = 64 * 1024;
  lo.fsync_policy = rill::FsyncPolicy::interval;
  lo.fsync_interval = 1h;
  rill::TopicOptions options = topic_options(rill::FsyncPolicy::interval);
  options.fsync_interval = 1h;
  auto timer = std::make_shared<rill::storage::SyncTimer>();
  rill::detail::BlockingWait signal;
  rill::storage::DurablePartition partition(SegmentLog::open(dir.path() + "/t-0", lo), options, "t-0", &signal);
  const auto r = append_one(partition, "idle");
  REQUIRE(r.status == rill::storage::AppendStatus::ok);
  CHECK_FALSE(r.durable);
  CHECK(partition.durable_end_offset() == 0);
  partition.start_interval_sync(timer, 20ms);
  // No further append comes: only the timer can sync it. The wait is
  // bounded generously: the check is that it happens, not how fast.
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (partition.durable_end_offset() < 1 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK(partition.durable_end_offset() == 1);
}
