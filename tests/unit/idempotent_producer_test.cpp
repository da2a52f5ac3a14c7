// The idempotent producer (ProducerOptions::idempotence_id): sequences in
// the batch headers, duplicates answered with the original offsets, gaps
// refused, a restarted producer continuing where the log ends (also after a
// torn tail), one live producer per id, memory topics, plain producers.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"
#include "log/segment_log.hpp"
#include "rill/rill.hpp"
#include "test_util.hpp"
#include "broker/local_broker.hpp"
#include "storage/partition.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using rill::test::error_of;

namespace {

struct TempDir {
  rill::test::TempDir scratch{"rill-idempotent-test", false};
  fs::path path{scratch.path()};
};

rill::TopicOptions durable(std::int32_t partitions) {
  return {.partitions = partitions, .storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024};
}

rill::storage::Partition& partition_of(const rill::Node& node, const std::string& topic, int p) {
  auto& broker = dynamic_cast<rill::broker::LocalBroker&>(*rill::detail::broker_of(node));
  return *broker.find_topic(topic)->partitions[static_cast<std::size_t>(p)];
}

// The producer fields and offsets of every batch in a partition, in order.
struct BatchSeen {
  std::int64_t base_offset;
  std::int64_t records;
  rill::codec::ProducerFields producer;
};

std::vector<BatchSeen> batches_of(const rill::Node& node, const std::string& topic, int p) {
  rill::storage::Partition& partition = partition_of(node, topic, p);
  std::vector<BatchSeen> out;
  rill::storage::ReadLease lease;
  std::int64_t offset = partition.positions().log_start;
  while (partition.read(offset, std::size_t{1} << 20, lease, {}) == rill::storage::ReadStatus::ok) {
    for (const rill::codec::BatchView& b : lease.batches()) {
      out.push_back({b.base_offset(), std::int64_t{b.last_offset_delta()} + 1, b.producer()});
    }
    offset = lease.next_offset();
  }
  return out;
}

// Every value of a partition from its start, in offset order.
std::vector<std::string> values_of(const rill::Node& node, const std::string& topic, int p) {
  rill::Consumer consumer(node);
  consumer.assign({{topic, p}});
  consumer.seek_to_beginning({{topic, p}});
  std::vector<std::string> out;
  for (;;) {
    const auto records = consumer.poll(0ms);
    if (records.empty()) return out;
    for (const rill::RecordView& r : records) out.emplace_back(r.value());
  }
}

// A batch of one record, as another incarnation of producer `id` sent it.
std::vector<std::byte> foreign_batch(std::int64_t id, std::int32_t sequence, int records) {
  rill::codec::BatchBuilder builder(1 << 12);
  for (int i = 0; i < records; ++i) {
    rill::Record r;
    r.value = "foreign";
    REQUIRE(builder.try_append(r, 1));
  }
  const auto bytes = builder.finish({id, 0, sequence});
  return {bytes.begin(), bytes.end()};
}

std::int64_t producer_id_of(const std::string& id) {
  return static_cast<std::int64_t>(XXH3_64bits(id.data(), id.size()) & 0x7fffffffffffffffULL);
}

}  // namespace

TEST_CASE("idempotent producer: batches carry the producer id and each partition's sequences", "[producer][idempotence]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t", {.partitions = 2});
  rill::Producer producer(node, {.idempotence_id = "app-1"});
  std::map<std::int32_t, std::int64_t> next;
  for (int i = 0; i < 20; ++i) {
    const rill::RecordMetadata md = producer.send("t", {.value = "v", .partition = i % 2}).get();
    CHECK(md.sequence == next[md.partition]++);
  }
  for (int p = 0; p < 2; ++p) {
    std::int64_t expected = 0;
    for (const BatchSeen& b : batches_of(node, "t", p)) {
      CHECK(b.producer.producer_id == producer_id_of("app-1"));
      CHECK(b.producer.producer_epoch == 0);
      CHECK(b.producer.base_sequence == expected);
      expected += b.records;
    }
    // A memory partition does not keep sequences: the producer counts them.
    CHECK(producer.next_sequence("t", p) == 10);
  }
}

TEST_CASE("idempotent producer: lingering batches give futures and callbacks their sequences", "[producer][idempotence]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("t", durable(1));
  rill::Producer producer(node, {.linger = 50ms, .idempotence_id = "lingering"});
  std::vector<rill::SendFuture> futures;
  std::vector<std::int64_t> from_callbacks;
  for (int i = 0; i < 10; ++i) {
    if (i % 2 == 0) {
      futures.push_back(producer.send("t", {.value = "f" + std::to_string(i)}));
    } else {
      producer.send("t", {.value = "c" + std::to_string(i)},
                    [&](const rill::RecordMetadata& md, const rill::Error*) { from_callbacks.push_back(md.sequence); });
    }
  }
  producer.flush();
  for (std::size_t k = 0; k < futures.size(); ++k) {
    const rill::RecordMetadata md = futures[k].get();
    CHECK(md.sequence == static_cast<std::int64_t>(2 * k));
    CHECK(md.offset == md.sequence);  // the only writer of the partition
  }
  CHECK(from_callbacks == std::vector<std::int64_t>{1, 3, 5, 7, 9});
  CHECK(producer.next_sequence("t", 0) == 10);
}

TEST_CASE("idempotent producer: a batch the partition holds is written once, at its first offsets", "[producer][idempotence]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("t", durable(1));
  rill::storage::Partition& partition = partition_of(node, "t", 0);
  auto batch = foreign_batch(producer_id_of("dup"), 0, 2);
  const rill::storage::AppendResult first = partition.append(batch, true, {});
  const rill::storage::AppendResult again = partition.append(batch, true, {});
  CHECK(first.status == rill::storage::AppendStatus::ok);
  CHECK_FALSE(first.duplicate);
  CHECK(again.status == rill::storage::AppendStatus::ok);
  CHECK(again.duplicate);
  CHECK(again.base_offset == first.base_offset);
  CHECK(partition.end_offset() == 2);

  // The producer's own view was stale (another incarnation appended after
  // it read the partition's state): its next batch is that one again, and
  // its future gets the original offset, not an error.
  rill::Producer producer(node, {.idempotence_id = "dup"});
  CHECK(producer.next_sequence("t", 0) == 2);
  CHECK(producer.send("t", {.value = "a"}).get().offset == 2);  // sequence 2
  auto behind = foreign_batch(producer_id_of("dup"), 3, 1);
  CHECK(partition.append(behind, true, {}).base_offset == 3);   // sequence 3, behind its back
  const rill::RecordMetadata md = producer.send("t", {.value = "b"}).get();
  CHECK(md.offset == 3);
  CHECK(md.sequence == 3);
  CHECK(partition.end_offset() == 4);
  const rill::RecordMetadata after = producer.send("t", {.value = "c"}).get();
  CHECK(after.offset == 4);
  CHECK(after.sequence == 4);
  CHECK(values_of(node, "t", 0) == std::vector<std::string>{"foreign", "foreign", "a", "foreign", "c"});
}

TEST_CASE("idempotent producer: a sequence the partition does not expect fails and writes nothing", "[producer][idempotence]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("t", durable(1));
  rill::storage::Partition& partition = partition_of(node, "t", 0);
  rill::Producer producer(node, {.idempotence_id = "gap"});
  CHECK(producer.send("t", {.value = "a"}).get().sequence == 0);
  // Another incarnation wrote sequences 1..2 in one batch: the producer's
  // one-record batch at sequence 1 matches neither the next nor that batch.
  auto other = foreign_batch(producer_id_of("gap"), 1, 2);
  REQUIRE(partition.append(other, true, {}).status == rill::storage::AppendStatus::ok);
  rill::SendFuture refused = producer.send("t", {.value = "b"});
  CHECK(error_of([&] { (void)refused.get(); }) == rill::ErrorCode::out_of_order_sequence);
  CHECK(partition.end_offset() == 3);
  // The producer read the partition's state again and goes on.
  const rill::RecordMetadata md = producer.send("t", {.value = "b"}).get();
  CHECK(md.sequence == 3);
  CHECK(md.offset == 3);
  // The partition itself refuses a gap.
  auto gap = foreign_batch(producer_id_of("gap"), 9, 1);
  const rill::storage::AppendResult r = partition.append(gap, true, {});
  CHECK(r.status == rill::storage::AppendStatus::failed);
  REQUIRE(r.error);
  CHECK(r.error->code() == rill::ErrorCode::out_of_order_sequence);
  CHECK(partition.end_offset() == 4);
}

TEST_CASE("idempotent producer: a restarted producer continues, and next_sequence says what survived", "[producer][idempotence]") {
  TempDir dir;
  constexpr int kRecords = 60;
  std::map<std::int32_t, std::vector<int>> sent;  // partition -> record numbers, in order
  // A producer process that dies after its last send: nothing is closed,
  // so the last batches lie past the recovery point and may be torn. It
  // reports each record's partition and sequence, one line each.
  const std::string reported = rill::test::in_killed_child([&](int out) {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("t", durable(2));
    rill::Producer producer(node, {.idempotence_id = "restart"});
    for (int i = 0; i < kRecords; ++i) {
      const rill::RecordMetadata md =
          producer.send("t", {.key = "k" + std::to_string(i % 5), .value = std::to_string(i)}).get();
      const std::string line = std::to_string(md.partition) + " " + std::to_string(md.sequence) + "\n";
      if (::write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) throw 1;
    }
    rill::test::die_by_sigkill();
  });
  std::istringstream lines(reported);
  int partition = 0;
  std::int64_t sequence = 0;
  for (int i = 0; lines >> partition >> sequence; ++i) {
    CHECK(sequence == static_cast<std::int64_t>(sent[partition].size()));
    sent[partition].push_back(i);
  }
  REQUIRE(sent[0].size() + sent[1].size() == kRecords);
  REQUIRE(sent.size() == 2);
  const bool torn = GENERATE(false, true);
  if (torn) {
    // Damage the last batch of partition 0 (one record: linger is 0), as a
    // crash in the middle of its write would.
    const fs::path log = dir.path / "t-0" / "00000000000000000000.log";
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    std::size_t last = 0;
    for (std::size_t at = 0;;) {
      std::span<const std::byte> here = rest.subspan(at);
      if (!rill::log::next_batch(here).valid()) break;
      last = at;
      at = bytes.size() - here.size();
    }
    f.seekp(static_cast<std::streamoff>(last + rill::codec::kBatchHeaderSize + 2));
    f.put('\x7f');
  }
  rill::Node node = rill::Node::open(dir.path);
  rill::Producer producer(node, {.idempotence_id = "restart"});
  for (int p = 0; p < 2; ++p) {
    const std::int64_t kept = static_cast<std::int64_t>(sent[p].size()) - (torn && p == 0 ? 1 : 0);
    CHECK(producer.next_sequence("t", p) == kept);
    // The application resends exactly the records from there.
    for (auto i = static_cast<std::size_t>(kept); i < sent[p].size(); ++i) {
      const rill::RecordMetadata md =
          producer.send("t", {.value = std::to_string(sent[p][i]), .partition = p}).get();
      CHECK(md.sequence == static_cast<std::int64_t>(i));
    }
    std::vector<std::string> expected;
    for (int i : sent[p]) expected.push_back(std::to_string(i));
    CHECK(values_of(node, "t", p) == expected);
    const rill::RecordMetadata next = producer.send("t", {.value = "next", .partition = p}).get();
    CHECK(next.sequence == static_cast<std::int64_t>(sent[p].size()));
  }
}

TEST_CASE("idempotent producer: one live producer per id on a node", "[producer][idempotence]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t");
  rill::Producer first(node, {.idempotence_id = "solo"});
  try {
    rill::Producer second(node, {.idempotence_id = "solo"});
    FAIL("a second producer with the same id was made");
  } catch (const rill::Error& e) {
    CHECK(e.code() == rill::ErrorCode::already_exists);
    CHECK(std::string(e.what()).find("\"solo\"") != std::string::npos);
  }
  rill::Producer other(node, {.idempotence_id = "solo-2"});
  rill::Producer plain_a(node);
  rill::Producer plain_b(node);
  first.close();  // frees the id
  rill::Producer again(node, {.idempotence_id = "solo"});
  {
    rill::Producer moved = std::move(again);
  }  // destroyed: the id is free again
  rill::Producer last(node, {.idempotence_id = "solo"});
  // Another node is another namespace.
  rill::Node elsewhere = rill::Node::in_memory();
  rill::Producer there(elsewhere, {.idempotence_id = "solo"});
}

TEST_CASE("idempotent producer: a bad id is refused, naming the option", "[producer][idempotence]") {
  rill::Node node = rill::Node::in_memory();
  for (const std::string& id : std::vector<std::string>{"a/b", "..", std::string(250, 'x'), "sp ace"}) {
    try {
      rill::Producer producer(node, {.idempotence_id = id});
      FAIL("accepted idempotence id " << id);
    } catch (const rill::Error& e) {
      CHECK(e.code() == rill::ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).rfind("ProducerOptions::idempotence_id", 0) == 0);
    }
  }
}

TEST_CASE("idempotent producer: plain producers carry no producer id and no sequence", "[producer][idempotence]") {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("t");
  rill::Producer producer(node);
  rill::RecordMetadata md;
  REQUIRE(producer.try_send("t", {.value = "x"}, &md) == rill::SendStatus::ok);
  CHECK(md.sequence == -1);
  CHECK(producer.send("t", {.value = "y"}).get().sequence == -1);
  for (const BatchSeen& b : batches_of(node, "t", 0)) {
    CHECK(b.producer.producer_id == -1);
    CHECK(b.producer.base_sequence == -1);
  }
  CHECK(error_of([&] { (void)producer.next_sequence("t", 0); }) == rill::ErrorCode::invalid_argument);
  rill::Producer idempotent(node, {.idempotence_id = "p"});
  CHECK(error_of([&] { (void)idempotent.next_sequence("t", 3); }) == rill::ErrorCode::invalid_argument);
  CHECK(error_of([&] { (void)idempotent.next_sequence("nope", 0); }) == rill::ErrorCode::not_found);
}

TEST_CASE("idempotent producer: several threads on one partition get one gapless sequence", "[producer][idempotence]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("t", durable(1));
  constexpr int kThreads = 4;
  const int per_thread = 200 * static_cast<int>(rill::test::scale());
  {
    rill::Producer producer(node, {.batch_bytes = 512, .linger = 200us, .idempotence_id = "threads"});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          if (i % 3 == 0) {
            (void)producer.try_send("t", {.value = std::to_string(t)});
          } else {
            producer.send("t", {.value = std::to_string(t)}, [](const rill::RecordMetadata&, const rill::Error*) {});
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
    producer.flush();
    CHECK(producer.next_sequence("t", 0) == partition_of(node, "t", 0).end_offset());
  }
  // The only writer: every batch's base sequence is its base offset.
  for (const BatchSeen& b : batches_of(node, "t", 0)) CHECK(b.producer.base_sequence == b.base_offset);
}
