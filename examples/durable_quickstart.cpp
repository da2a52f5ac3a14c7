// Durable quickstart: a topic kept in segment files, written, closed, and
// read back after the node is opened again on the same directory.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "rill/rill.hpp"

namespace {

// Sends a few records; every_batch syncs each one before send() completes.
void write_payments(const std::filesystem::path& dir) {
  rill::Node node = rill::Node::open(dir);
  node.create_topic("payments", {.partitions = 2,
                                 .storage = rill::StorageKind::durable,
                                 .segment_bytes = 1 << 20,
                                 .retention_bytes = 64 << 20,
                                 .fsync = rill::FsyncPolicy::every_batch});
  rill::Producer producer(node);
  for (int i = 0; i < 6; ++i) {
    const std::string key = "account-" + std::to_string(i % 3);
    const std::string value = "{\"cents\":" + std::to_string(100 * (i + 1)) + "}";
    const rill::RecordMetadata md = producer.send("payments", {.key = key, .value = value}).get();
    std::printf("wrote %s -> partition %d offset %lld%s\n", key.c_str(), md.partition,
                static_cast<long long>(md.offset), md.durable ? " (on disk)" : "");
  }
}  // the producer and the node close here, releasing the directory

// Opens the directory again: the topic and its records are still there.
int read_payments(const std::filesystem::path& dir) {
  rill::Node node = rill::Node::open(dir);
  rill::Consumer consumer(node, {.group = "audit", .auto_offset_reset = rill::OffsetReset::earliest});
  consumer.subscribe({"payments"});
  int received = 0;
  for (int attempt = 0; attempt < 50 && received < 6; ++attempt) {
    for (const rill::RecordView& r : consumer.poll(std::chrono::milliseconds(100))) {
      std::printf("read  %.*s <- partition %d offset %lld: %.*s\n", static_cast<int>(r.key().size()),
                  r.key().data(), r.partition(), static_cast<long long>(r.offset()),
                  static_cast<int>(r.value().size()), r.value().data());
      ++received;
    }
  }
  return received;
}

}  // namespace

int main() {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rill-durable-quickstart-" + std::to_string(::getpid()));
  int received = 0;
  try {
    write_payments(dir);
    received = read_payments(dir);
  } catch (const rill::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  std::filesystem::remove_all(dir);
  return received == 6 ? 0 : 1;
}
