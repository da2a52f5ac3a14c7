// Durable log: appending to and reading from segment files, against the
// machine's floor and two servers that keep a log on disk.
//
// Setup: one thread appends records 0..n-1 (no key, values of 100 B or
// 1 KiB, see log_common.hpp) and the clock runs from the first send until
// the last record is accepted; each run starts from an empty scratch
// directory under the temp dir, removed afterwards.
//   rill: Node::open(scratch), one durable topic of 1 partition (64 MiB
//     segments, preallocated and mapped), FsyncPolicy::none or every_batch;
//     Producer{batch_bytes = 64 KiB, linger = 5 ms} fed with try_send and
//     flush()ed at the end. Checked: the partition's end offset is n.
//   raw.write: the same values copied back to back into a 64 KiB buffer,
//     written with write() to one file when full (the same batch size as
//     rill's, without rill's framing); raw.write_fdatasync also calls
//     fdatasync() after each write. Checked: the file size.
//   redis.xadd, nats.jetstream: see log_peers.cpp; pipeline window / async
//     MaxPending 1024 records without sync, one 64 KiB batch worth of
//     records with sync.
//   log.read.1KiB: n records prefilled (not timed) into a durable topic,
//     then one Consumer (assign, earliest, max_poll_records 4096,
//     ConsumerWait::busy_spin, check_crcs on as by default; rill.check_crcs_off
//     turns it off) polls views of the mapped segments and copies
//     each value into the next 1 KiB slot of a 1 MiB buffer, where it checks
//     the record's number and last byte; limit.memcpy does the same copies
//     and checks from a heap buffer holding the same values. Both sources
//     are in memory and already mapped into the process (the writer wrote
//     them through the same mappings).
//   log.append.1KiB.fsync_batch.4p: rill as above under every_batch, but
//     four threads share the one Producer (one partition), each sending a
//     quarter of the records (values numbered per thread) with try_send;
//     concurrent batches share fdatasyncs (group commit). Against the same
//     single-thread raw.write_fdatasync floor. Checked: the end offset.
// Records per round (full / --quick): 100B 2M / 200k, 1KiB 256k / 32k,
// fsync_batch 32k / 4k (also .4p), read 256k / 32k; the servers move 5%
// (no sync) or 25% (with sync) of that.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "log_common.hpp"
#include "peer_process.hpp"
#include "rill/consumer.hpp"
#include "rill/node.hpp"

namespace rill::bench {

rill::TopicOptions log_topic_options(rill::FsyncPolicy fsync) {
  rill::TopicOptions options;
  options.partitions = 1;
  options.storage = rill::StorageKind::durable;
  options.fsync = fsync;
  return options;
}

rill::ProducerOptions log_producer_options() {
  rill::ProducerOptions options;
  options.batch_bytes = kLogBatchBytes;
  options.linger = std::chrono::milliseconds(5);
  return options;
}

std::string produce_log_values(rill::Producer& producer, std::uint64_t n, std::size_t value_bytes) {
  std::string error = send_log_values(producer, n, value_bytes);
  if (error.empty()) producer.flush();
  return error;
}

std::string send_log_values(rill::Producer& producer, std::uint64_t n, std::size_t value_bytes) {
  LogValue value(value_bytes);
  for (std::uint64_t i = 0; i < n; ++i) {
    value.set_seq(i);
    rill::Record record;
    record.value = value.view();
    for (;;) {
      const rill::SendStatus status = producer.try_send(kLogTopic, record);
      if (status == rill::SendStatus::ok) break;
      if (status != rill::SendStatus::full) {
        return fmt::format("try_send of record {}: {}", i, rill::to_string(status));
      }
      std::this_thread::yield();
    }
  }
  return "";
}

namespace {

// "" when the topic's only partition ends at offset n.
std::string check_end_offset(const rill::Node& node, std::uint64_t n) {
  const rill::TopicDescription topic = node.describe_topic(kLogTopic);
  const std::int64_t end = topic.partitions.at(0).end_offset;
  if (end == static_cast<std::int64_t>(n)) return "";
  return fmt::format("partition ends at offset {}, expected {}", end, n);
}

RunResult run_rill_append(const RunConfig& config, std::size_t value_bytes,
                          rill::FsyncPolicy fsync) {
  const ScratchDir dir("rill-bench-log");
  rill::Node node = rill::Node::open(dir.path() / "node");
  node.create_topic(kLogTopic, log_topic_options(fsync));
  std::string error;
  double seconds = 0;
  {
    rill::Producer producer(node, log_producer_options());
    const auto start = Clock::now();
    error = produce_log_values(producer, config.messages, value_bytes);
    seconds = seconds_since(start);
  }
  RunResult r = throughput(config.messages, value_bytes, seconds);
  r.error = error.empty() ? check_end_offset(node, config.messages) : error;
  // Deleting the topic skips the sync an orderly close would do: the
  // scratch data is thrown away, so writing it to the disk is wasted time.
  node.delete_topic(kLogTopic);
  return r;
}

// `threads` threads share one Producer, each sending n / threads records.
RunResult run_rill_append_threads(const RunConfig& config, std::size_t value_bytes, int threads) {
  const ScratchDir dir("rill-bench-log");
  rill::Node node = rill::Node::open(dir.path() / "node");
  node.create_topic(kLogTopic, log_topic_options(rill::FsyncPolicy::every_batch));
  const std::uint64_t per_thread = config.messages / static_cast<std::uint64_t>(threads);
  const std::uint64_t n = per_thread * static_cast<std::uint64_t>(threads);
  std::vector<std::string> errors(static_cast<std::size_t>(threads));
  double seconds = 0;
  {
    rill::Producer producer(node, log_producer_options());
    std::vector<std::thread> senders;
    const auto start = Clock::now();
    for (int t = 0; t < threads; ++t) {
      senders.emplace_back([&, t] { errors[static_cast<std::size_t>(t)] = send_log_values(producer, per_thread, value_bytes); });
    }
    for (auto& sender : senders) sender.join();
    producer.flush();
    seconds = seconds_since(start);
  }
  RunResult r = throughput(n, value_bytes, seconds);
  for (const std::string& e : errors) {
    if (r.error.empty()) r.error = e;
  }
  if (r.error.empty()) r.error = check_end_offset(node, n);
  node.delete_topic(kLogTopic);  // no sync at close (see run_rill_append)
  return r;
}

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {
    if (fd_ < 0) throw std::runtime_error(fmt::format("open: {}", std::strerror(errno)));
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// "" or what failed.
std::string write_all(int fd, const char* data, std::size_t size, bool sync) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return fmt::format("write: {}", std::strerror(errno));
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  if (sync && ::fdatasync(fd) != 0) return fmt::format("fdatasync: {}", std::strerror(errno));
  return "";
}

RunResult run_raw_write(const RunConfig& config, std::size_t value_bytes, bool sync) {
  const ScratchDir dir("rill-bench-raw");
  const Fd fd(
      ::open((dir.path() / "data").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  const std::uint64_t n = config.messages;
  LogValue value(value_bytes);
  std::vector<char> buffer(records_per_batch(value_bytes) * value_bytes);
  std::size_t filled = 0;
  std::string error;
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < n && error.empty(); ++i) {
    value.set_seq(i);
    std::memcpy(buffer.data() + filled, value.data(), value_bytes);
    filled += value_bytes;
    if (filled == buffer.size() || i + 1 == n) {
      error = write_all(fd.get(), buffer.data(), filled, sync);
      filled = 0;
    }
  }
  RunResult r = throughput(n, value_bytes, seconds_since(start));
  r.error = error;
  struct stat st{};
  if (r.error.empty() &&
      (::fstat(fd.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != n * value_bytes)) {
    r.error = fmt::format("file holds {} bytes, expected {}", st.st_size, n * value_bytes);
  }
  return r;
}

// Copies each value into the next slot of a 1 MiB buffer and checks it there.
class CopyCheck {
 public:
  explicit CopyCheck(std::size_t value_bytes)
      : value_bytes_(value_bytes),
        slots_((std::size_t{1} << 20) / value_bytes),
        sink_(slots_ * value_bytes) {}

  void take(std::string_view value) noexcept {
    if (value.size() == value_bytes_) {
      char* slot = sink_.data() + (count_ % slots_) * value_bytes_;
      std::memcpy(slot, value.data(), value_bytes_);
      if (!is_log_value(count_, {slot, value_bytes_}, value_bytes_)) ++bad_;
    } else {
      ++bad_;
    }
    ++count_;
  }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::string error(std::uint64_t n) const {
    if (bad_ != 0) return fmt::format("{} records had a wrong number, size or bytes", bad_);
    if (count_ != n) return fmt::format("read {} of {} records", count_, n);
    return "";
  }

 private:
  std::size_t value_bytes_;
  std::size_t slots_;
  std::vector<char> sink_;
  std::uint64_t count_ = 0;
  std::uint64_t bad_ = 0;
};

constexpr std::size_t kReadValueBytes = 1024;

RunResult run_rill_read(const RunConfig& config, bool check_crcs) {
  const std::uint64_t n = config.messages;
  const ScratchDir dir("rill-bench-read");
  rill::Node node = rill::Node::open(dir.path() / "node");
  node.create_topic(kLogTopic, log_topic_options(rill::FsyncPolicy::none));
  {
    rill::Producer producer(node, log_producer_options());
    const std::string error = produce_log_values(producer, n, kReadValueBytes);
    if (!error.empty()) throw std::runtime_error("prefill: " + error);
  }
  rill::ConsumerOptions options;
  options.auto_offset_reset = rill::OffsetReset::earliest;
  options.max_poll_records = 4096;
  options.wait = rill::ConsumerWait::busy_spin;
  options.check_crcs = check_crcs;
  CopyCheck check(kReadValueBytes);
  double seconds = 0;
  {
    rill::Consumer consumer(node, options);
    consumer.assign({{kLogTopic, 0}});
    int idle_polls = 0;
    const auto start = Clock::now();
    while (check.count() < n && idle_polls < 20) {
      const rill::PollResult batch = consumer.poll(std::chrono::milliseconds(100));
      idle_polls = batch.empty() ? idle_polls + 1 : 0;
      for (const rill::RecordView& record : batch) check.take(record.value());
    }
    seconds = seconds_since(start);
  }
  RunResult r = throughput(n, kReadValueBytes, seconds);
  r.error = check.error(n);
  node.delete_topic(kLogTopic);  // no sync at close (see run_rill_append)
  return r;
}

RunResult run_memcpy_read(const RunConfig& config) {
  const std::uint64_t n = config.messages;
  std::vector<char> source(n * kReadValueBytes);
  LogValue value(kReadValueBytes);
  for (std::uint64_t i = 0; i < n; ++i) {
    value.set_seq(i);
    std::memcpy(source.data() + i * kReadValueBytes, value.data(), kReadValueBytes);
  }
  CopyCheck check(kReadValueBytes);
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i)
    check.take({source.data() + i * kReadValueBytes, kReadValueBytes});
  RunResult r = throughput(n, kReadValueBytes, seconds_since(start));
  r.error = check.error(n);
  return r;
}

void add_append_case(std::vector<Case>& cases, const char* name, std::size_t value_bytes,
                     std::uint64_t full, std::uint64_t quick) {
  constexpr std::size_t kWindow = 1024;
  Case c{name, full, quick, {}};
  const std::string cache = "page cache";
  c.systems.push_back({"rill",
                       [=](const RunConfig& rc) {
                         return run_rill_append(rc, value_bytes, rill::FsyncPolicy::none);
                       },
                       1.0, cache});
  c.systems.push_back({"raw.write",
                       [=](const RunConfig& rc) { return run_raw_write(rc, value_bytes, false); },
                       1.0, cache});
  c.systems.push_back({"redis.xadd",
                       [=](const RunConfig& rc) {
                         return run_redis_xadd(rc.messages, value_bytes, false, kWindow);
                       },
                       0.05, cache});
  c.systems.push_back({"nats.jetstream",
                       [=](const RunConfig& rc) {
                         return run_nats_jetstream(rc.messages, value_bytes, false, kWindow);
                       },
                       0.05, cache});
  cases.push_back(std::move(c));
}

void add_fsync_case(std::vector<Case>& cases) {
  constexpr std::size_t kValue = 1024;
  constexpr std::size_t kWindow = records_per_batch(kValue);
  const std::string synced = "fsync per batch";
  Case c{"log.append.1KiB.fsync_batch", 32'000, 4'000, {}};
  c.systems.push_back({"rill",
                       [](const RunConfig& rc) {
                         return run_rill_append(rc, kValue, rill::FsyncPolicy::every_batch);
                       },
                       1.0, synced});
  c.systems.push_back({"raw.write_fdatasync",
                       [](const RunConfig& rc) { return run_raw_write(rc, kValue, true); }, 1.0,
                       synced});
  c.systems.push_back(
      {"redis.xadd",
       [](const RunConfig& rc) { return run_redis_xadd(rc.messages, kValue, true, kWindow); }, 0.25,
       "fsync per event-loop pass"});
  c.systems.push_back(
      {"nats.jetstream",
       [](const RunConfig& rc) { return run_nats_jetstream(rc.messages, kValue, true, kWindow); },
       0.25, "fsync per write (sync_interval: always)"});
  cases.push_back(std::move(c));
  Case shared{"log.append.1KiB.fsync_batch.4p", 32'000, 4'000, {}};
  shared.systems.push_back({"rill",
                            [](const RunConfig& rc) { return run_rill_append_threads(rc, kValue, 4); },
                            1.0, synced});
  shared.systems.push_back({"raw.write_fdatasync",
                            [](const RunConfig& rc) { return run_raw_write(rc, kValue, true); }, 1.0,
                            synced});
  cases.push_back(std::move(shared));
}

}  // namespace

void add_log_cases(std::vector<Case>& cases) {
  add_append_case(cases, "log.append.100B.nosync", 100, 2'000'000, 200'000);
  add_append_case(cases, "log.append.1KiB.nosync", 1024, 256'000, 32'000);
  add_fsync_case(cases);
  Case read{"log.read.1KiB", 256'000, 32'000, {}};
  read.systems.push_back({"rill", [](const RunConfig& rc) { return run_rill_read(rc, true); }});
  read.systems.push_back({"rill.check_crcs_off", [](const RunConfig& rc) { return run_rill_read(rc, false); }});
  read.systems.push_back({"limit.memcpy", run_memcpy_read});
  cases.push_back(std::move(read));
  add_log_recover_cases(cases);
}

}  // namespace rill::bench
