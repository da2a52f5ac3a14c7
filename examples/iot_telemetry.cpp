// IoT telemetry: 1,000 sensors send readings, keyed by sensor id, to a durable
// topic with four partitions and retention by size, while a dashboard reads
// them and keeps each sensor's latest reading and average. It shows that
//  - each sensor's readings arrive in the order they were sent (one key, one
//    partition, and a partition keeps its order);
//  - retention deleted old segments while the topic was written: every
//    partition's start offset moved forward, and no partition grew past
//    retention_bytes + 2 * segment_bytes (retention runs after each segment's
//    worth of appends and keeps the oldest segment until the rest reach the
//    limit);
//  - a reading the dashboard could not read in time is reported as lost,
//    never skipped in silence: read + lost == sent.
// Run: iot_telemetry [DIR]  (DIR: a new data directory, kept afterwards; by default a
// temporary one, removed at exit)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

#include "rill/rill.hpp"

namespace {

constexpr int kSensors = 1'000;
constexpr int kPartitions = 4;
constexpr int kReadingsPerSensor = 100;
constexpr long long kReadings = static_cast<long long>(kSensors) * kReadingsPerSensor;
constexpr std::size_t kSegmentBytes = 64 * 1024;
constexpr std::uint64_t kRetentionBytes = 256 * 1024;

double temperature(int sensor, int seq) { return 18.0 + sensor % 10 + 0.1 * (seq % 20); }

struct SensorStats {
  int last_seq = -1;
  double latest = 0;
  double sum = 0;
  int count = 0;
};

struct Dashboard {
  std::vector<SensorStats> sensors = std::vector<SensorStats>(kSensors);
  long long read = 0;
  long long lost = 0;
  long long malformed = 0;
  bool in_order = true;
};

// Reads until every reading was either read or reported lost to retention.
void watch(rill::Consumer& consumer, Dashboard& dashboard) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto accounted = [&] { return dashboard.read + dashboard.lost + dashboard.malformed; };
  while (accounted() < kReadings && std::chrono::steady_clock::now() < give_up) {
    rill::PollResult batch = consumer.poll(std::chrono::milliseconds(100));
    dashboard.lost += batch.lost();
    for (const rill::RecordView& r : batch) {
      const std::string key(r.key());
      const std::string value(r.value());
      int sensor = -1;
      int seq = 0;
      double celsius = 0;
      if (std::sscanf(key.c_str(), "sensor-%d", &sensor) != 1 || sensor < 0 || sensor >= kSensors ||
          std::sscanf(value.c_str(), "seq=%d celsius=%lf", &seq, &celsius) != 2) {
        ++dashboard.malformed;
        continue;
      }
      SensorStats& stats = dashboard.sensors[sensor];
      if (seq <= stats.last_seq) dashboard.in_order = false;
      stats.last_seq = seq;
      stats.latest = celsius;
      stats.sum += celsius;
      ++stats.count;
      ++dashboard.read;
    }
  }
}

// Sends the readings round by round (one from every sensor, then a flush);
// they travel in batches (linger). Returns the largest partition size seen
// after a round, and counts failed sends.
std::size_t send_readings(const rill::Node& node, std::atomic<long long>& failed) {
  rill::Producer producer(node, {.linger = std::chrono::milliseconds(1)});
  auto count_failure = [&failed](const rill::RecordMetadata&, const rill::Error* error) {
    if (error != nullptr) failed.fetch_add(1, std::memory_order_relaxed);
  };
  std::size_t largest_retained = 0;
  for (int seq = 0; seq < kReadingsPerSensor; ++seq) {
    for (int sensor = 0; sensor < kSensors; ++sensor) {
      char key[32];
      char value[64];
      std::snprintf(key, sizeof key, "sensor-%04d", sensor);
      std::snprintf(value, sizeof value, "seq=%d celsius=%.1f", seq, temperature(sensor, seq));
      producer.send("telemetry", {.key = key, .value = value}, count_failure);
    }
    producer.flush();  // after each round, so that no append runs while we measure
    for (const rill::PartitionInfo& p : node.describe_topic("telemetry").partitions) {
      largest_retained = std::max(largest_retained, p.retained_bytes);
    }
  }
  return largest_retained;
}

// Prints a few sensors; true if every sensor's latest reading is its last one.
bool check_latest(const Dashboard& dashboard) {
  for (int sensor : {0, 1, kSensors - 1}) {
    const SensorStats& s = dashboard.sensors[sensor];
    std::printf("sensor-%04d: latest %.1f C (seq %d), average %.2f C over the %d readings read\n", sensor,
                s.latest, s.last_seq, s.sum / std::max(s.count, 1), s.count);
  }
  bool latest_ok = true;
  for (int sensor = 0; sensor < kSensors; ++sensor) {
    const SensorStats& s = dashboard.sensors[sensor];
    latest_ok = latest_ok && s.last_seq == kReadingsPerSensor - 1 &&
                std::abs(s.latest - temperature(sensor, kReadingsPerSensor - 1)) < 0.01;
  }
  return latest_ok;
}

// True if every partition lost its oldest segments and none grew too large.
bool check_retention(const rill::Node& node, std::size_t largest_retained) {
  bool deleted = true;
  for (const rill::PartitionInfo& p : node.describe_topic("telemetry").partitions) {
    std::printf("partition %d: offsets %lld..%lld retained (%zu KiB)\n", p.partition,
                static_cast<long long>(p.start_offset), static_cast<long long>(p.end_offset),
                p.retained_bytes / 1024);
    deleted = deleted && p.start_offset > 0;
  }
  const std::size_t limit = kRetentionBytes + 2 * kSegmentBytes;
  std::printf("old segments deleted in every partition: %s; largest partition seen: %zu KiB (at most %zu KiB)\n",
              deleted ? "yes" : "NO", largest_retained / 1024, limit / 1024);
  return deleted && largest_retained <= limit;
}

bool run(const std::filesystem::path& dir) {
  rill::Node node = rill::Node::open(dir);
  node.create_topic("telemetry", {.partitions = kPartitions,
                                  .storage = rill::StorageKind::durable,
                                  .segment_bytes = kSegmentBytes,
                                  .retention_bytes = kRetentionBytes});

  // The dashboard reads every partition from offset 0, in its own thread.
  rill::Consumer consumer(node);
  std::vector<rill::TopicPartition> partitions;
  for (int p = 0; p < kPartitions; ++p) partitions.push_back({"telemetry", p});
  consumer.assign(partitions);
  consumer.seek_to_beginning(partitions);
  Dashboard dashboard;
  std::jthread reader([&] { watch(consumer, dashboard); });

  std::atomic<long long> failed{0};
  const std::size_t largest_retained = send_readings(node, failed);
  reader.join();

  const bool latest_ok = check_latest(dashboard);
  const bool retention_ok = check_retention(node, largest_retained);
  std::printf("sent %lld readings (%lld failed), read %lld, lost %lld to retention\n", kReadings,
              failed.load(), dashboard.read, dashboard.lost);
  std::printf("each sensor's readings in order: %s; latest reading of every sensor: %s\n",
              dashboard.in_order ? "yes" : "NO", latest_ok ? "right" : "WRONG");
  return failed.load() == 0 && dashboard.malformed == 0 && dashboard.read + dashboard.lost == kReadings &&
         dashboard.in_order && latest_ok && retention_ok;
}

}  // namespace

int main(int argc, char** argv) {
  const bool keep_dir = argc > 1;
  const std::filesystem::path dir = keep_dir ? std::filesystem::path(argv[1])
                                             : std::filesystem::temp_directory_path() /
                                                   ("rill-iot-telemetry-" + std::to_string(::getpid()));
  if (!keep_dir) std::filesystem::remove_all(dir);
  bool ok = false;
  try {
    ok = run(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  if (!keep_dir) std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
