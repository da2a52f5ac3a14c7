// Durable log: opening a partition after its writer was killed, and the
// bytes each record takes on disk.
//
// log.recover.1GiB: a forked child opens a node in a scratch directory,
// writes records 0..n-1 (1 KiB values, no key; 1 GiB of values full, 64 MiB
// with --quick) to a durable topic of one partition (64 MiB segments,
// FsyncPolicy::none, Producer as in log_bench.cpp), flushes, tells the
// parent over a pipe and waits; the parent kills it with SIGKILL (no
// orderly close, no final sync) and reaps it. Then:
//   rill: times Node::open of the directory, which recovers the partition
//     (docs/log_format.md, "Recovery"); checked: it ends at offset n.
//     Bytes: the partition's retained bytes (batches and padding).
//   rill.after_restart: the same, after rewriting each partition folder's
//     recovery point with another boot id, as if the machine had restarted
//     since the writer ran: recovery then checks every batch of every
//     segment past the recovery offset (0 here: under FsyncPolicy::none no
//     roll syncs), not only each closed segment's tail.
//   raw.read: times read() of every .log file of the partition in whole,
//     1 MiB at a time (the preallocated tail of the last segment included).
// Cache: the files were written a moment before, so both read them from
// the page cache (warm); a cold-cache figure would need dropping the whole
// machine's cache, which a shared machine does not allow.
//
// log.bytes_per_record: records of an 8-byte key and a 100-byte value, one
// timestamp for all (so every timestamp delta is 0), sent in batches of
// exactly 1, 64 and 512 records (Producer with a 1 MiB batch and a long
// linger, flush() after each batch), 4096 records per batch size.
//   rill: the partition's retained bytes (64-byte batch headers, records,
//     padding to 8) divided by the records; the indexes (24 bytes per 4 KiB
//     of log) are not counted.
//   kafka.v2: computed from Kafka's RecordBatch v2 layout: a 61-byte batch
//     header, then per record its varint length, attributes, varint deltas,
//     key and value lengths and bytes, and header count; its indexes (20
//     bytes per 4 KiB of log) are not counted either.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "log_common.hpp"
#include "peer_process.hpp"
#include "rill/detail/varint.hpp"
#include "log/file_system.hpp"
#include "log/recovery_point.hpp"
#include "rill/node.hpp"

namespace rill::bench {
namespace {

constexpr std::size_t kRecoverValueBytes = 1024;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// The writer child: killed and reaped when this goes away, whatever happened.
class WriterChild {
 public:
  explicit WriterChild(pid_t pid) noexcept : pid_(pid) {}
  ~WriterChild() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  WriterChild(const WriterChild&) = delete;
  WriterChild& operator=(const WriterChild&) = delete;

 private:
  pid_t pid_;
};

// Runs in the child: writes, reports 'k' (or 'e') on `fd`, then waits to be killed.
[[noreturn]] void write_and_wait(const std::filesystem::path& dir, std::uint64_t n, int fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a benchmark killed meanwhile takes its writer along
  char status = 'e';
  try {
    rill::Node node = rill::Node::open(dir);
    node.create_topic(kLogTopic, log_topic_options(rill::FsyncPolicy::none));
    rill::Producer producer(node, log_producer_options());
    if (produce_log_values(producer, n, kRecoverValueBytes).empty()) status = 'k';
    static_cast<void>(::write(fd, &status, 1));
    for (;;) ::pause();  // node and producer stay open until SIGKILL
  } catch (...) {
    static_cast<void>(::write(fd, &status, 1));
  }
  ::_exit(1);
}

// Leaves in `dir` a node whose writer was killed after flushing n records.
void write_then_kill(const std::filesystem::path& dir, std::uint64_t n) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    write_and_wait(dir, n, fds[1]);
  }
  ::close(fds[1]);
  const WriterChild child(pid);
  pollfd ready{fds[0], POLLIN, 0};
  char status = 0;
  const bool done = ::poll(&ready, 1, 600'000) == 1 && ::read(fds[0], &status, 1) == 1;
  ::close(fds[0]);
  if (!done || status != 'k') throw std::runtime_error("the writer process failed or timed out");
}  // ~WriterChild: SIGKILL, then reap

std::vector<Figure> recovery_figures(std::uint64_t bytes, double seconds) {
  const double gib = static_cast<double>(bytes) / kGiB;
  return {{"seconds", seconds},
          {"bytes", static_cast<double>(bytes)},
          {"GiB_per_s", gib / seconds},
          {"seconds_per_GiB", seconds / gib}};
}

// Makes every partition folder under `root` look written before a restart.
void pretend_restart(const std::filesystem::path& root) {
  rill::log::FileSystem& fs = rill::log::default_file_system();
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().filename() != rill::log::kRecoveryPointName) continue;
    const std::string folder = entry.path().parent_path().string();
    const auto point = rill::log::read_recovery_point(fs, folder);
    if (!point) throw std::runtime_error("no readable recovery point in " + folder);
    rill::log::write_recovery_point(fs, folder, {"a-boot-before-this-one", point->offset});
  }
}

RunResult run_rill_recover_with(const RunConfig& config, bool restart) {
  const std::uint64_t n = config.messages;
  const ScratchDir dir("rill-bench-recover");
  write_then_kill(dir.path() / "node", n);
  if (restart) pretend_restart(dir.path() / "node");
  const auto start = Clock::now();
  rill::Node node = rill::Node::open(dir.path() / "node");
  const double seconds = seconds_since(start);
  const rill::PartitionInfo partition = node.describe_topic(kLogTopic).partitions.at(0);
  RunResult r;
  r.messages = n;
  r.bytes = partition.retained_bytes;
  r.seconds = seconds;
  if (partition.end_offset != static_cast<std::int64_t>(n)) {
    r.error = fmt::format("recovered up to offset {}, expected {}", partition.end_offset, n);
  }
  r.figures = recovery_figures(r.bytes, seconds);
  r.note = fmt::format(
      "Node::open after kill -9 of the writer{}, {} records, {} bytes of log; "
      "page cache warm",
      restart ? " and a (pretended) restart: every batch checked" : "", n, r.bytes);
  node.delete_topic(kLogTopic);  // no sync at close: the data is thrown away
  return r;
}

RunResult run_rill_recover(const RunConfig& config) { return run_rill_recover_with(config, false); }
RunResult run_rill_recover_after_restart(const RunConfig& config) {
  return run_rill_recover_with(config, true);
}

// Reads every byte of the files; returns the bytes read.
std::uint64_t read_files(const std::vector<std::filesystem::path>& files) {
  std::vector<char> buffer(std::size_t{1} << 20);
  std::uint64_t total = 0;
  for (const auto& file : files) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open " + file.string());
    for (;;) {
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got <= 0) break;
      keep(buffer[0]);
      total += static_cast<std::uint64_t>(got);
    }
    ::close(fd);
  }
  return total;
}

RunResult run_raw_read(const RunConfig& config) {
  const ScratchDir dir("rill-bench-rawread");
  write_then_kill(dir.path() / "node", config.messages);
  std::vector<std::filesystem::path> logs;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (entry.is_regular_file() && entry.path().extension() == ".log") logs.push_back(entry.path());
  }
  std::sort(logs.begin(), logs.end());
  const auto start = Clock::now();
  const std::uint64_t bytes = read_files(logs);
  const double seconds = seconds_since(start);
  RunResult r;
  r.messages = config.messages;
  r.bytes = bytes;
  r.seconds = seconds;
  r.figures = recovery_figures(bytes, seconds);
  r.note = fmt::format("read() of {} .log files, {} bytes; page cache warm", logs.size(), bytes);
  return r;
}

constexpr std::size_t kKeyBytes = 8;
constexpr std::size_t kValueBytes = 100;
constexpr std::uint64_t kRecordsPerSize = 4096;
constexpr std::array<std::uint64_t, 3> kBatchSizes = {1, 64, 512};
constexpr std::int64_t kTimestamp = 1'700'000'000'000;

// Bytes of the record at offset delta `delta` in Kafka's record v2 layout,
// which rill's records share (docs/log_format.md, "Records").
std::size_t record_bytes(std::uint64_t delta) {
  using rill::detail::varint_size;
  using rill::detail::zigzag_encode;
  const std::size_t body = 1 + varint_size(zigzag_encode(0)) +
                           varint_size(zigzag_encode(static_cast<std::int64_t>(delta))) +
                           varint_size(zigzag_encode(kKeyBytes)) + kKeyBytes +
                           varint_size(zigzag_encode(kValueBytes)) + kValueBytes +
                           varint_size(zigzag_encode(0));
  return varint_size(zigzag_encode(static_cast<std::int64_t>(body))) + body;
}

// Bytes of one batch of `count` records after a header of `header` bytes.
std::size_t batch_bytes(std::uint64_t count, std::size_t header) {
  std::size_t total = header;
  for (std::uint64_t d = 0; d < count; ++d) total += record_bytes(d);
  return total;
}

std::string figure_name(std::uint64_t batch) { return fmt::format("batch_{}", batch); }

RunResult run_kafka_bytes(const RunConfig&) {
  RunResult r;
  for (const std::uint64_t batch : kBatchSizes) {
    const double per_record =
        static_cast<double>(batch_bytes(batch, 61)) / static_cast<double>(batch);
    r.figures.push_back({figure_name(batch), per_record});
  }
  r.note = "bytes per record from the RecordBatch v2 layout (61-byte header), indexes not counted";
  return r;
}

// Sends kRecordsPerSize records in batches of exactly `batch` records and
// returns the partition's bytes per record.
double rill_bytes_per_record(rill::Node& node, std::uint64_t batch) {
  rill::TopicOptions options = log_topic_options(rill::FsyncPolicy::none);
  options.segment_bytes = std::size_t{4} << 20;
  node.create_topic(kLogTopic, options);
  rill::ProducerOptions producer_options;
  producer_options.batch_bytes = std::size_t{1} << 20;
  producer_options.linger = std::chrono::seconds(60);
  {
    rill::Producer producer(node, producer_options);
    LogValue value(kValueBytes);
    for (std::uint64_t i = 0; i < kRecordsPerSize; ++i) {
      value.set_seq(i);
      std::array<char, kKeyBytes> key{};
      std::memcpy(key.data(), &i, sizeof(i));
      rill::Record record;
      record.key = std::string_view(key.data(), key.size());
      record.value = value.view();
      record.timestamp = kTimestamp;
      if (producer.try_send(kLogTopic, record) != rill::SendStatus::ok) {
        throw std::runtime_error("try_send failed");
      }
      if ((i + 1) % batch == 0) producer.flush();
    }
  }
  const rill::PartitionInfo partition = node.describe_topic(kLogTopic).partitions.at(0);
  node.delete_topic(kLogTopic);
  if (partition.end_offset != static_cast<std::int64_t>(kRecordsPerSize)) {
    throw std::runtime_error(fmt::format("partition ends at {}", partition.end_offset));
  }
  return static_cast<double>(partition.retained_bytes) / static_cast<double>(kRecordsPerSize);
}

RunResult run_rill_bytes(const RunConfig&) {
  const ScratchDir dir("rill-bench-bytes");
  rill::Node node = rill::Node::open(dir.path() / "node");
  RunResult r;
  std::string layout;
  for (const std::uint64_t batch : kBatchSizes) {
    const double measured = rill_bytes_per_record(node, batch);
    r.figures.push_back({figure_name(batch), measured});
    // The same records under rill's 64-byte header, padded to 8 bytes.
    const double expected =
        static_cast<double>((batch_bytes(batch, 64) + 7) / 8 * 8) / static_cast<double>(batch);
    if (measured != expected) {
      layout += fmt::format(" batch {}: layout says {:.2f};", batch, expected);
    }
  }
  r.note = layout.empty()
               ? "measured retained bytes match the layout (64-byte header, padding to 8)"
               : "measured retained bytes differ from the layout:" + layout;
  return r;
}

}  // namespace

void add_log_recover_cases(std::vector<Case>& cases) {
  Case recover{"log.recover.1GiB", std::uint64_t{1} << 20, std::uint64_t{1} << 16, {}};
  recover.systems.push_back({"rill", run_rill_recover, 1.0, "page cache"});
  recover.systems.push_back({"rill.after_restart", run_rill_recover_after_restart, 1.0, "page cache"});
  recover.systems.push_back({"raw.read", run_raw_read});
  cases.push_back(std::move(recover));
  Case bytes{"log.bytes_per_record", kRecordsPerSize, kRecordsPerSize, {}};
  bytes.systems.push_back({"rill", run_rill_bytes, 1.0, "", false});
  bytes.systems.push_back({"kafka.v2", run_kafka_bytes, 1.0, "", false});
  cases.push_back(std::move(bytes));
}

}  // namespace rill::bench
