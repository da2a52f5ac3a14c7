// Durable topics on a node opened on a directory: produce, close, reopen and
// read the same records; the catalog; the directory lock (also against a
// killed process); bad catalogs; names; fsync policies; groups; deletion;
// retention; several producer threads.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "codec/batch_builder.hpp"
#include "support/fault_injecting_file_system.hpp"
#include "rill/inspect.hpp"
#include "rill/rill.hpp"
#include "test_util.hpp"
#include "storage/durable_partition.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test (created by Node::open), removed afterwards.
struct TempDir {
  rill::test::TempDir scratch{"rill-durable-test", false};
  fs::path path{scratch.path()};
};

// Small segments so that a few hundred records roll several of them.
rill::TopicOptions durable(std::int32_t partitions, rill::FsyncPolicy fsync = rill::FsyncPolicy::none) {
  return {.partitions = partitions, .storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024,
          .fsync = fsync};
}

struct Seen {
  std::int32_t partition;
  std::int64_t offset;
  std::string key;
  std::string value;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> poll_all(rill::Consumer& c) {
  std::vector<Seen> seen;
  for (;;) {
    const auto records = c.poll(0ms);
    if (records.empty()) return seen;
    for (const rill::RecordView& r : records) {
      seen.push_back({r.partition(), r.offset(), std::string(r.key()), std::string(r.value())});
    }
  }
}

// Sends `count` keyed records and returns where each landed, in send order.
std::vector<Seen> produce(rill::Node& node, const std::string& topic, int count, int first = 0) {
  rill::Producer producer(node);
  std::vector<Seen> sent;
  for (int i = first; i < first + count; ++i) {
    const std::string key = "k" + std::to_string(i % 7);
    const std::string value = "value-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 300), 'x');
    const rill::RecordMetadata md = producer.send(topic, {.key = key, .value = value}).get();
    sent.push_back({md.partition, md.offset, key, value});
  }
  return sent;
}

// Every record of `topic` from the beginning, by partition then offset.
std::vector<Seen> read_all(rill::Node& node, const std::string& topic) {
  rill::Consumer consumer(node);
  std::vector<rill::TopicPartition> partitions;
  for (std::int32_t p = 0; p < node.describe_topic(topic).options.partitions; ++p) partitions.push_back({topic, p});
  consumer.assign(partitions);
  consumer.seek_to_beginning(partitions);
  return poll_all(consumer);
}

std::vector<Seen> sorted(std::vector<Seen> v) {
  std::stable_sort(v.begin(), v.end(), [](const Seen& a, const Seen& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return v;
}

std::string error_message(const std::function<void()>& call) {
  try {
    call();
  } catch (const rill::Error& e) {
    return e.what();
  }
  FAIL("expected a rill::Error");
  return {};
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("durable topic: records survive a close and reopen with the same offsets and contents", "[topic][durable]") {
  TempDir dir;
  std::vector<Seen> sent;
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("orders", durable(3));
    sent = produce(node, "orders", 1500);
    REQUIRE(sorted(read_all(node, "orders")) == sorted(sent));
  }
  CHECK(fs::is_directory(dir.path / "orders-2"));
  int segments = 0;  // 1500 records of ~170 bytes over 3 partitions roll 64 KiB segments
  for (const auto& e : fs::directory_iterator(dir.path / "orders-0")) segments += e.path().extension() == ".log";
  CHECK(segments >= 2);
  rill::Node node = rill::Node::open(dir.path);
  CHECK(sorted(read_all(node, "orders")) == sorted(sent));
  // Appends go on after the recovered end.
  const std::vector<Seen> more = produce(node, "orders", 30, 1500);
  for (const Seen& s : more) {
    std::int64_t before = 0;
    for (const Seen& old : sent) before += old.partition == s.partition ? 1 : 0;
    for (const Seen& m : more) before += (m.partition == s.partition && m.offset < s.offset) ? 1 : 0;
    CHECK(s.offset == before);  // dense: no offset reused, none skipped
  }
  sent.insert(sent.end(), more.begin(), more.end());
  CHECK(sorted(read_all(node, "orders")) == sorted(sent));
}

TEST_CASE("durable topic: the catalog keeps names and options across a reopen, memory topics are not kept", "[topic][durable]") {
  TempDir dir;
  rill::TopicOptions options = durable(2, rill::FsyncPolicy::interval);
  options.retention_bytes = 1 << 20;
  options.retention_ms = 3600s;
  options.fsync_interval = 250ms;
  {
    rill::Node node = rill::Node::open(dir.path);
    CHECK(node.directory() == dir.path);
    node.create_topic("b.events", options);
    node.create_topic("a_log", durable(1));
    node.create_topic("scratch", {.partitions = 1});
    (void)produce(node, "b.events", 10);
  }
  CHECK(read_text(dir.path / "rill.catalog").rfind("rill-catalog 2\n", 0) == 0);
  rill::Node node = rill::Node::open(dir.path);
  CHECK(node.list_topics() == std::vector<std::string>{"a_log", "b.events"});
  const rill::TopicDescription d = node.describe_topic("b.events");
  CHECK(d.options.storage == rill::StorageKind::durable);
  CHECK(d.options.partitions == 2);
  CHECK(d.options.segment_bytes == 64 * 1024);
  CHECK(d.options.fsync == rill::FsyncPolicy::interval);
  CHECK(d.options.fsync_interval == 250ms);
  CHECK(d.options.retention_bytes == 1 << 20);
  CHECK(d.options.retention_ms == 3600s);
  CHECK(d.options.max_record_bytes == 64 * 1024 / 2 - 128);
  REQUIRE(d.partitions.size() == 2);
  CHECK(d.partitions[0].end_offset + d.partitions[1].end_offset == 10);
  CHECK(d.partitions[0].retained_bytes + d.partitions[1].retained_bytes > 10 * 6);
  CHECK(node.describe_topic("a_log").options.segment_bytes == 64 * 1024);
  CHECK_FALSE(node.has_topic("scratch"));
}

TEST_CASE("durable topic: a second open of the same directory fails naming the holder, until the first node is gone", "[topic][durable]") {
  TempDir dir;
  std::optional<rill::Node> first = rill::Node::open(dir.path);
  const std::string message = error_message([&] { (void)rill::Node::open(dir.path); });
  CHECK(message.find("in use by another rill::Node") != std::string::npos);
  CHECK(message.find("pid " + std::to_string(::getpid())) != std::string::npos);
  CHECK(rill::test::error_of([&] { (void)rill::Node::open(dir.path); }) == rill::ErrorCode::io);
  first.reset();
  rill::Node again = rill::Node::open(dir.path);
  CHECK(again.list_topics().empty());
}

TEST_CASE("durable topic: a process killed with SIGKILL while holding the directory does not block the next open", "[topic][durable]") {
  TempDir dir;
  { rill::Node node = rill::Node::open(dir.path); node.create_topic("t", durable(1)); }
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    try {
      rill::Node node = rill::Node::open(dir.path);
      rill::Producer producer(node);
      (void)producer.send("t", {.value = std::string_view("from the child")}).get();
      (void)!::write(ready[1], "1", 1);
      for (;;) ::pause();
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(ready[1]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  ::close(ready[0]);
  const std::string message = error_message([&] { (void)rill::Node::open(dir.path); });
  CHECK(message.find("pid " + std::to_string(child)) != std::string::npos);
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  rill::Node node = rill::Node::open(dir.path);
  const std::vector<Seen> seen = read_all(node, "t");
  REQUIRE(seen.size() == 1);  // no fsync, but the page cache outlives the process
  CHECK(seen[0].value == "from the child");
}

TEST_CASE("durable topic: a catalog that is not rill's, of another version or damaged is refused with a clear error", "[topic][durable]") {
  TempDir dir;
  { rill::Node node = rill::Node::open(dir.path); node.create_topic("t", durable(2)); }
  const fs::path catalog = dir.path / "rill.catalog";
  const std::string good = read_text(catalog);
  auto open_error = [&] {
    CHECK(rill::test::error_of([&] { (void)rill::Node::open(dir.path); }) == rill::ErrorCode::corrupt);
    return error_message([&] { (void)rill::Node::open(dir.path); });
  };
  write_file(catalog, "PK\x03\x04 not a catalog\n");
  CHECK(open_error().find("does not start with \"rill-catalog 2\"") != std::string::npos);
  write_file(catalog, "rill-catalog 9\n" + good.substr(good.find('\n') + 1));
  CHECK(open_error().find("version 9 is not supported") != std::string::npos);
  std::string damaged = good;
  damaged[damaged.find("partitions=2") + 11] = '3';
  write_file(catalog, damaged);
  CHECK(open_error().find("checksum") != std::string::npos);
  write_file(catalog, good.substr(0, good.size() - 10));
  CHECK(open_error().find("catalog") != std::string::npos);
  write_file(catalog, good);
  rill::Node node = rill::Node::open(dir.path);
  CHECK(node.describe_topic("t").options.partitions == 2);
}

TEST_CASE("durable topic: names cannot reach outside the directory", "[topic][durable]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path / "data");
  for (const char* name : {"../escape", "a/b", "..", ".", "/abs", "x\\y", ""}) {
    CHECK(rill::test::error_of([&] { node.create_topic(name, durable(1)); }) == rill::ErrorCode::invalid_argument);
  }
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir.path)) entries.push_back(e.path().filename().string());
  CHECK(entries == std::vector<std::string>{"data"});
  CHECK(node.list_topics().empty());
}

TEST_CASE("durable topic: every_batch reports each record durable, none does not", "[topic][durable]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("safe", durable(1, rill::FsyncPolicy::every_batch));
  node.create_topic("fast", durable(1, rill::FsyncPolicy::none));
  rill::Producer producer(node);
  for (int i = 0; i < 3; ++i) {
    const rill::RecordMetadata safe = producer.send("safe", {.value = std::string_view("s")}).get();
    CHECK(safe.durable);
    CHECK(safe.offset == i);
    CHECK_FALSE(producer.send("fast", {.value = std::string_view("f")}).get().durable);
  }
  bool callback_durable = false;
  producer.send("safe", {.value = std::string_view("cb")},
                [&](const rill::RecordMetadata& md, const rill::Error* e) { callback_durable = e == nullptr && md.durable; });
  CHECK(callback_durable);
  rill::RecordMetadata out;
  REQUIRE(producer.try_send("safe", {.value = std::string_view("try")}, &out) == rill::SendStatus::ok);
  CHECK(out.durable);
  CHECK(out.offset == 4);
}

TEST_CASE("durable topic: on an in-memory node durable storage is refused, bad durable options are named", "[topic][durable]") {
  rill::Node memory = rill::Node::in_memory();
  CHECK(rill::test::error_of([&] { memory.create_topic("t", durable(1)); }) == rill::ErrorCode::unsupported);
  CHECK(memory.directory().empty());
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  rill::TopicOptions o = durable(1);
  o.segment_bytes = 5000;
  CHECK(error_message([&] { node.create_topic("t", o); }).find("segment_bytes = 5000") != std::string::npos);
  o = durable(1);
  o.full_policy = rill::FullPolicy::overwrite;
  CHECK(error_message([&] { node.create_topic("t", o); }).find("overwrite") != std::string::npos);
  o = durable(1, rill::FsyncPolicy::interval);
  o.fsync_interval = 0ms;
  CHECK(error_message([&] { node.create_topic("t", o); }).find("fsync_interval") != std::string::npos);
  CHECK(node.list_topics().empty());
  CHECK_FALSE(fs::exists(dir.path / "t-0"));
  node.create_topic("t", durable(1));
  CHECK(rill::test::error_of([&] { node.create_topic("t", durable(1)); }) == rill::ErrorCode::already_exists);
  CHECK(rill::test::error_of([] { (void)rill::Node::open("/proc/rill-no-such-dir", {.create_if_missing = false}); }) ==
        rill::ErrorCode::not_found);
}

TEST_CASE("durable topic: groups subscribe, commit, seek and see lag and positions", "[topic][durable][group]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("t", durable(2));
  const std::vector<Seen> sent = produce(node, "t", 100);
  rill::Consumer consumer(node, {.group = "g", .auto_offset_reset = rill::OffsetReset::earliest});
  consumer.subscribe({"t"});
  std::vector<Seen> seen;
  for (int i = 0; i < 100 && seen.size() < sent.size(); ++i) {
    for (const rill::RecordView& r : consumer.poll(50ms)) {
      seen.push_back({r.partition(), r.offset(), std::string(r.key()), std::string(r.value())});
    }
  }
  CHECK(sorted(seen) == sorted(sent));
  const rill::TopicPartition p0{"t", 0};
  CHECK(consumer.lag(p0) == 0);
  consumer.commit();
  CHECK(consumer.committed(p0) == node.describe_topic("t").partitions[0].end_offset);
  consumer.seek(p0, 2);
  CHECK(consumer.position(p0) == 2);
  CHECK(consumer.lag(p0) == node.describe_topic("t").partitions[0].end_offset - 2);
  const auto again = consumer.poll(50ms);
  REQUIRE_FALSE(again.empty());
  CHECK(again.begin()->offset() == 2);
  CHECK(again.begin()->partition() == 0);
}

TEST_CASE("durable topic: delete removes the folders and the catalog line, the name can be reused empty", "[topic][durable]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("t", durable(2));
  (void)produce(node, "t", 20);
  node.delete_topic("t");
  CHECK_FALSE(fs::exists(dir.path / "t-0"));
  CHECK(read_text(dir.path / "rill.catalog").find("name=t ") == std::string::npos);
  node.create_topic("t", durable(1));
  CHECK(read_all(node, "t").empty());
  CHECK(produce(node, "t", 1)[0].offset == 0);
}

TEST_CASE("durable topic: retention deletes whole old segments and readers start at the oldest kept", "[topic][durable]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  rill::TopicOptions o = durable(1);
  o.retention_bytes = 128 * 1024;
  node.create_topic("t", o);
  rill::Consumer lagging(node);  // positioned at offset 0 before anything is written
  lagging.assign({{"t", 0}});
  const std::vector<Seen> sent = produce(node, "t", 3000);
  const rill::PartitionInfo info = node.describe_topic("t").partitions[0];
  CHECK(info.start_offset > 0);
  CHECK(info.end_offset == 3000);
  CHECK(info.retained_bytes < 128 * 1024 + 64 * 1024);
  // The records deleted under the lagging consumer are reported, then it
  // reads on from the oldest retained one.
  const auto first = lagging.poll(0ms);
  REQUIRE(first.losses().size() == 1);
  CHECK(first.losses()[0].first_offset == 0);
  CHECK(first.losses()[0].count == info.start_offset);
  REQUIRE_FALSE(first.empty());
  CHECK(first.begin()->offset() == info.start_offset);
  const std::vector<Seen> seen = read_all(node, "t");
  REQUIRE(!seen.empty());
  CHECK(seen.front().offset == info.start_offset);
  CHECK(std::vector<Seen>(sent.end() - static_cast<std::ptrdiff_t>(seen.size()), sent.end()) == seen);
}

TEST_CASE("durable topic: appends from several producer threads are serialized with dense offsets", "[topic][durable][stress]") {
  TempDir dir;
  rill::Node node = rill::Node::open(dir.path);
  node.create_topic("t", durable(1));
  constexpr int kThreads = 4;
  const int per_thread = 500 * static_cast<int>(rill::test::scale());
  rill::Producer producer(node);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string value = std::to_string(t) + ":" + std::to_string(i);
        (void)producer.send("t", {.value = value, .partition = 0}).get();
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::vector<Seen> seen = read_all(node, "t");
  REQUIRE(seen.size() == static_cast<std::size_t>(kThreads * per_thread));
  std::map<int, int> next;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].offset == static_cast<std::int64_t>(i));
    const auto colon = seen[i].value.find(':');
    const int thread = std::stoi(seen[i].value.substr(0, colon));
    CHECK(std::stoi(seen[i].value.substr(colon + 1)) == next[thread]++);  // each thread's order kept
  }
}

TEST_CASE("durable topic: reopening after damage in the last segment refuses, and repairs when asked", "[topic][durable]") {
  TempDir dir;
  std::int64_t end = 0;
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("t", durable(1));
    rill::Producer producer(node);
    // Fill segments until one rolls, then put four batches in the new one:
    // recovery scans all of it (the damage is after its last index entry).
    auto logs = [&] {
      int n = 0;
      for (const auto& e : fs::directory_iterator(dir.path / "t-0")) n += e.path().extension() == ".log";
      return n;
    };
    const std::string value(500, 'v');
    while (logs() < 2) (void)producer.send("t", {.value = value}).get();
    for (int i = 0; i < 3; ++i) (void)producer.send("t", {.value = value}).get();
    end = node.describe_topic("t").partitions[0].end_offset;
  }
  fs::path last;
  for (const auto& e : fs::directory_iterator(dir.path / "t-0")) {
    if (e.path().extension() == ".log" && (last.empty() || e.path() > last)) last = e.path();
  }
  REQUIRE(!last.empty());
  const std::int64_t last_base = std::stoll(last.stem().string());
  REQUIRE(last_base > 0);
  REQUIRE(last_base == end - 4);  // the last segment holds four one-record batches
  {
    std::fstream f(last, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);  // inside the first batch's records: its checksum fails, later batches are valid
    f.put('\x5a');
  }
  const std::string message = error_message([&] { (void)rill::Node::open(dir.path); });
  CHECK(message.find(last.filename().string()) != std::string::npos);
  CHECK(rill::test::error_of([&] { (void)rill::Node::open(dir.path); }) == rill::ErrorCode::corrupt);
  rill::Node node = rill::Node::open(dir.path, {.repair = true});
  const rill::PartitionInfo info = node.describe_topic("t").partitions[0];
  CHECK(info.end_offset == last_base);  // cut at the damaged batch
  const std::vector<Seen> seen = read_all(node, "t");
  REQUIRE(seen.size() == static_cast<std::size_t>(last_base));
  CHECK(seen.back().offset == last_base - 1);
  CHECK(produce(node, "t", 1)[0].offset == last_base);
}

TEST_CASE("durable partition: a failed fsync fails that append with the error, and every later one", "[topic][durable]") {
  using Faulty = rill::log::FaultInjectingFileSystem;
  TempDir dir;
  Faulty faulty(rill::log::default_file_system());
  rill::log::SegmentLogOptions lo;
  lo.segment_bytes = 64 * 1024;
  lo.fsync_policy = rill::FsyncPolicy::every_batch;
  rill::detail::BlockingWait signal;
  rill::storage::DurablePartition partition(rill::log::SegmentLog::open((dir.path / "t-0").string(), lo, faulty),
                                          durable(1, rill::FsyncPolicy::every_batch), "t-0", &signal);
  rill::codec::BatchBuilder builder(1024);
  auto append = [&](std::string_view value) {
    builder.reset();
    REQUIRE(builder.try_append({.value = value}, 1));
    return partition.append(builder.finish(), false, rill::detail::WaitClock::now());
  };
  rill::storage::AppendResult r = append("first");
  CHECK(r.status == rill::storage::AppendStatus::ok);
  CHECK(r.base_offset == 0);
  CHECK(r.durable);
  faulty.fail_call(Faulty::Op::sync, 1, Faulty::Fault::eio);
  r = append("second");
  CHECK(r.status == rill::storage::AppendStatus::failed);
  REQUIRE(r.error);
  CHECK(r.error->code() == rill::ErrorCode::io);
  CHECK(std::string(r.error->what()).find("t-0") != std::string::npos);
  r = append("third");  // fsyncgate: never retried over possibly lost pages
  CHECK(r.status == rill::storage::AppendStatus::failed);
  REQUIRE(r.error);
  CHECK(std::string(r.error->what()).find("reopened") != std::string::npos);
  CHECK_FALSE(r.durable);
}

TEST_CASE("durable topic: a damaged batch header in a closed segment is reported by poll, never skipped", "[topic][durable]") {
  TempDir dir;
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("t", durable(1));
    rill::Producer producer(node);
    const std::string value(500, 'v');
    while (node.describe_topic("t").partitions[0].end_offset < 400) {
      (void)producer.send("t", {.value = value}).get();
    }
  }
  {
    // The magic byte of the first batch of the first (closed) segment.
    std::fstream f(dir.path / "t-0" / "00000000000000000000.log",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x00');
  }
  rill::Node node = rill::Node::open(dir.path);
  rill::Consumer consumer(node);
  consumer.assign({{"t", 0}});
  consumer.seek_to_beginning({{"t", 0}});
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string message = error_message([&] { (void)consumer.poll(10ms); });
    CHECK(message.find("offset 0") != std::string::npos);
    CHECK(rill::test::error_of([&] { (void)consumer.poll(10ms); }) == rill::ErrorCode::corrupt);
    CHECK(consumer.position({"t", 0}) == 0);  // still in front of the damage
  }
  consumer.seek({"t", 0}, 1);  // a deliberate seek past it reads on
  const rill::PollResult after = consumer.poll(10ms);
  REQUIRE_FALSE(after.empty());
  CHECK(after[0].offset() == 1);
}

TEST_CASE("durable topic: a batch whose checksum fails stops poll, which names the next whole batch, and a seek there reads on", "[topic][durable][damage]") {
  TempDir dir;
  {
    rill::Node node = rill::Node::open(dir.path);
    node.create_topic("t", durable(1));
    rill::Producer producer(node);  // linger 0: one record per batch
    const std::string value(500, 'v');
    while (node.describe_topic("t").partitions[0].end_offset < 400) {
      (void)producer.send("t", {.value = value}).get();
    }
  }
  // One bit in the records of offset 5's batch, in the first (closed) segment.
  const fs::path segment = dir.path / "t-0" / "00000000000000000000.log";
  const rill::SegmentReport clean = rill::inspect_segment(segment);
  REQUIRE(clean.batches.size() > 6);
  REQUIRE(clean.batches[5].base_offset == 5);
  rill::test::flip_bit(segment, clean.batches[5].position + 100, 0x08);

  rill::Node node = rill::Node::open(dir.path);  // open checks a closed segment from its last index entry
  rill::Consumer consumer(node);
  consumer.assign({{"t", 0}});
  consumer.seek_to_beginning({{"t", 0}});
  const rill::PollResult first = consumer.poll(10ms);
  REQUIRE(first.size() == 5);  // the records before the damage
  CHECK(first[4].offset() == 4);
  const std::string message = error_message([&] { (void)consumer.poll(10ms); });
  CHECK(message.find(segment.string()) != std::string::npos);
  CHECK(message.find("byte " + std::to_string(clean.batches[5].position)) != std::string::npos);
  CHECK(message.find("checksum mismatch") != std::string::npos);
  CHECK(message.find("the next whole batch starts at offset 6") != std::string::npos);
  CHECK(consumer.position({"t", 0}) == 5);
  consumer.seek({"t", 0}, 6);
  const rill::PollResult after = consumer.poll(10ms);
  REQUIRE_FALSE(after.empty());
  CHECK(after[0].offset() == 6);
  // With check_crcs off the header and offsets still hold, so the damaged
  // record comes back as stored.
  rill::Consumer unchecked(node, {.check_crcs = false});
  unchecked.assign({{"t", 0}});
  unchecked.seek({"t", 0}, 5);
  const rill::PollResult raw = unchecked.poll(10ms);
  REQUIRE_FALSE(raw.empty());
  CHECK(raw[0].offset() == 5);
}
