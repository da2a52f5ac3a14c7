// Uses an installed rill through find_package(rill): sends and reads back one
// record, and checks that headers and library agree on the version.
#include <chrono>
#include <cstdio>

#include <rill/rill.hpp>
#include <rill/version_check.hpp>

int main() {
  if (!rill::library_matches_headers()) {
    std::fprintf(stderr, "headers %s, library %s\n", rill::kVersionString, rill::library_version());
    return 1;
  }
  rill::Node node = rill::Node::in_memory();
  node.create_topic("package-check", {.partitions = 2});
  rill::Producer producer(node);
  const rill::RecordMetadata where =
      producer.send("package-check", {.key = "k", .value = "installed"}).get();

  rill::Consumer consumer(node);
  consumer.assign({{"package-check", where.partition}});
  consumer.seek(rill::TopicPartition{"package-check", where.partition}, where.offset);
  for (int attempt = 0; attempt < 50; ++attempt) {
    for (const rill::RecordView& r : consumer.poll(std::chrono::milliseconds(20))) {
      if (r.key() == "k" && r.value() == "installed" && r.offset() == where.offset) {
        std::printf("rill %s found through find_package: ok\n", rill::library_version());
        return 0;
      }
    }
  }
  std::fprintf(stderr, "record not read back\n");
  return 1;
}
