// Quickstart: create a topic, send a few records, read them back in a group,
// commit. The shape is that of a Kafka client, with no broker.
#include <chrono>
#include <cstdio>
#include <string>

#include "rill/rill.hpp"

int main() {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("orders", {.partitions = 4});

  rill::Producer producer(node);
  for (int i = 0; i < 8; ++i) {
    const std::string key = "user-" + std::to_string(40 + i % 3);
    const std::string value = "{\"total\":" + std::to_string(10 + i) + "}";
    rill::RecordMetadata where = producer.send("orders", {.key = key, .value = value}).get();
    std::printf("sent     %-8s %-14s -> partition %d offset %lld\n", key.c_str(), value.c_str(),
                where.partition, static_cast<long long>(where.offset));
  }

  // A group with no committed offsets starts at the earliest record here, so
  // that it sees what was sent before it joined.
  rill::Consumer consumer(node, {.group = "billing", .auto_offset_reset = rill::OffsetReset::earliest});
  consumer.subscribe({"orders"});

  int received = 0;
  while (received < 8) {
    for (const rill::RecordView& r : consumer.poll(std::chrono::milliseconds(100))) {
      std::printf("received %-8.*s %-14.*s <- partition %d offset %lld\n",
                  static_cast<int>(r.key().size()), r.key().data(),
                  static_cast<int>(r.value().size()), r.value().data(), r.partition(),
                  static_cast<long long>(r.offset()));
      ++received;
    }
  }
  consumer.commit();
  for (const rill::TopicPartition& tp : consumer.assignment()) {
    std::printf("committed %s/%d at %lld\n", tp.topic.c_str(), tp.partition,
                static_cast<long long>(consumer.committed(tp).value_or(-1)));
  }
  return 0;
}
