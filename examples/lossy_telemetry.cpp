// Lossy telemetry: a sensor feed on an overwrite topic. The producer never
// waits; a reader that falls behind loses the oldest readings and is told
// exactly how many, so it can say so instead of silently skipping them.
#include <chrono>
#include <cstdio>
#include <string>

#include "rill/rill.hpp"

int main() {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("telemetry", {.partitions = 1,
                                  .capacity_bytes = 64 * 1024,
                                  .full_policy = rill::FullPolicy::overwrite,
                                  .max_record_bytes = 1024});

  // The dashboard reads partition 0 from the start, but is busy elsewhere
  // while the sensor sends far more than the partition holds.
  rill::Consumer dashboard(node);
  dashboard.assign({{"telemetry", 0}});
  dashboard.seek_to_beginning({{"telemetry", 0}});

  rill::Producer sensor(node);
  constexpr int kReadings = 20'000;
  for (int i = 0; i < kReadings; ++i) {
    const std::string reading = "temp=" + std::to_string(20 + i % 7) + " seq=" + std::to_string(i);
    if (sensor.try_send("telemetry", {.key = "sensor-7", .value = reading}) != rill::SendStatus::ok) {
      std::printf("send %d was refused\n", i);
      return 1;
    }
  }

  long long read = 0;
  long long lost = 0;
  long long first_read = -1;
  for (;;) {
    rill::PollResult batch = dashboard.poll(std::chrono::milliseconds(50));
    for (const rill::LossEvent& loss : batch.losses()) {
      std::printf("lost %lld readings (offsets %lld..%lld) to overwrite\n",
                  static_cast<long long>(loss.count), static_cast<long long>(loss.first_offset),
                  static_cast<long long>(loss.first_offset + loss.count - 1));
    }
    lost += batch.lost();
    for (const rill::RecordView& r : batch) {
      if (first_read < 0) first_read = r.offset();
      ++read;
    }
    if (batch.empty() && batch.losses().empty()) break;
  }
  std::printf("sent %d, read %lld (from offset %lld), lost %lld: %s\n", kReadings, read, first_read,
              lost, read + lost == kReadings ? "every reading accounted for" : "MISMATCH");
  return read + lost == kReadings ? 0 : 1;
}
