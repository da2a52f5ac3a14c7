// The catalog's cleanup fields (format version 2): they round-trip, survive
// a reopen, are validated; a version-1 catalog (written before them) still
// opens with their defaults and is rewritten as version 2 at the next change.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "codec/batch_format.hpp"  // xxhash, header-only
#include "rill/rill.hpp"
#include "test_util.hpp"
#include "broker/catalog.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

rill::broker::CatalogEntry entry(std::string name, rill::CleanupPolicy cleanup, std::chrono::milliseconds tombstones) {
  rill::TopicOptions o{.partitions = 3, .storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024};
  o.max_record_bytes = 1024;
  o.cleanup = cleanup;
  o.tombstone_retention = tombstones;
  return {std::move(name), o};
}

// `body` (magic line and topic lines) closed with the right count and checksum.
std::string closed(const std::string& body) {
  const auto lines = std::count(body.begin(), body.end(), '\n') - 1;
  return body + fmt::format("end topics={} checksum={:016x}\n", lines, XXH3_64bits(body.data(), body.size()));
}

std::string corrupt_message(const std::string& text) {
  try {
    (void)rill::broker::decode_catalog(text, "dir/rill.catalog");
  } catch (const rill::Error& e) {
    CHECK(e.code() == rill::ErrorCode::corrupt);
    return e.what();
  }
  FAIL("expected Error(corrupt)");
  return {};
}

constexpr const char* kVersion1Line =
    "topic name=orders partitions=2 storage=durable max_record_bytes=1024 segment_bytes=65536 "
    "retention_bytes=0 retention_ms=0 fsync=none fsync_interval_ms=1000\n";

}  // namespace

TEST_CASE("catalog: cleanup and tombstone retention round-trip through version 2", "[catalog]") {
  const std::vector<rill::broker::CatalogEntry> entries = {entry("compacted", rill::CleanupPolicy::compact, 5s),
                                                          entry("plain", rill::CleanupPolicy::retention, 0ms)};
  const std::string text = rill::broker::encode_catalog(entries);
  CHECK(text.rfind("rill-catalog 2\n", 0) == 0);
  CHECK(text.find("name=compacted ") != std::string::npos);
  CHECK(text.find(" cleanup=compact tombstone_retention_ms=5000\n") != std::string::npos);
  CHECK(text.find(" cleanup=delete tombstone_retention_ms=0\n") != std::string::npos);
  const auto decoded = rill::broker::decode_catalog(text, "rill.catalog");
  REQUIRE(decoded.size() == 2);
  CHECK(decoded[0].name == "compacted");
  CHECK(decoded[0].options.cleanup == rill::CleanupPolicy::compact);
  CHECK(decoded[0].options.tombstone_retention == 5s);
  CHECK(decoded[1].options.cleanup == rill::CleanupPolicy::retention);
  CHECK(decoded[1].options.tombstone_retention == 0ms);
  CHECK(rill::broker::encode_catalog(decoded) == text);
}

TEST_CASE("catalog: a version-1 catalog is read with the default cleanup fields", "[catalog]") {
  const auto decoded = rill::broker::decode_catalog(closed(std::string("rill-catalog 1\n") + kVersion1Line), "c");
  REQUIRE(decoded.size() == 1);
  CHECK(decoded[0].name == "orders");
  CHECK(decoded[0].options.partitions == 2);
  CHECK(decoded[0].options.cleanup == rill::CleanupPolicy::retention);
  CHECK(decoded[0].options.tombstone_retention == rill::TopicOptions{}.tombstone_retention);
}

TEST_CASE("catalog: bad cleanup fields and unknown versions are Error(corrupt) naming the problem", "[catalog]") {
  const std::string v2_line = std::string(kVersion1Line, std::strlen(kVersion1Line) - 1);
  CHECK(corrupt_message(closed("rill-catalog 2\n" + v2_line + " cleanup=shred tombstone_retention_ms=1\n"))
            .find("line 2: a field has a bad value") != std::string::npos);
  CHECK(corrupt_message(closed("rill-catalog 2\n" + v2_line + " cleanup=compact tombstone_retention_ms=x\n"))
            .find("line 2: a field has a bad value") != std::string::npos);
  CHECK(corrupt_message(closed("rill-catalog 2\n" + std::string(kVersion1Line)))
            .find("line 2: 9 fields, expected 11") != std::string::npos);
  CHECK(corrupt_message(closed("rill-catalog 1\n" + v2_line + " cleanup=compact tombstone_retention_ms=1\n"))
            .find("line 2: 11 fields, expected 9") != std::string::npos);
  CHECK(corrupt_message(closed("rill-catalog 2\n" + v2_line + " cleanup=compact tombstones=1\n"))
            .find("field \"tombstone_retention_ms\" is missing") != std::string::npos);
  CHECK(corrupt_message(closed("rill-catalog 3\n")).find("version 3 is not supported (this rill reads versions 1 to 2)") !=
        std::string::npos);
  CHECK(corrupt_message(closed("rill-catalog 0\n")).find("version 0 is not supported") != std::string::npos);
}

TEST_CASE("catalog: a node keeps a topic's cleanup policy across a reopen and validates it", "[catalog][durable]") {
  rill::test::TempDir dir("rill-catalog-test");
  {
    rill::Node node = rill::Node::open(dir.path());
    node.create_topic("state", {.partitions = 1, .storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024,
                                .cleanup = rill::CleanupPolicy::compact, .tombstone_retention = 90s});
    rill::TopicOptions negative{.partitions = 1, .storage = rill::StorageKind::durable};
    negative.tombstone_retention = -1ms;
    CHECK(rill::test::error_of([&] { node.create_topic("bad", negative); }) == rill::ErrorCode::invalid_argument);
    CHECK_FALSE(node.has_topic("bad"));
  }
  rill::Node node = rill::Node::open(dir.path());
  const rill::TopicOptions o = node.describe_topic("state").options;
  CHECK(o.cleanup == rill::CleanupPolicy::compact);
  CHECK(o.tombstone_retention == 90s);
}

TEST_CASE("catalog: a directory written with version 1 opens, and its next change writes version 2", "[catalog][durable]") {
  rill::test::TempDir dir("rill-catalog-test");
  const std::string v1 = closed(std::string("rill-catalog 1\n") + kVersion1Line);
  std::ofstream(fs::path(dir.path()) / "rill.catalog", std::ios::binary) << v1;
  {
    rill::Node node = rill::Node::open(dir.path());
    const rill::TopicDescription d = node.describe_topic("orders");
    CHECK(d.options.partitions == 2);
    CHECK(d.options.cleanup == rill::CleanupPolicy::retention);
    CHECK(d.partitions.size() == 2);
    // Opening alone does not rewrite the file: an older rill can still read it.
    std::ifstream in(fs::path(dir.path()) / "rill.catalog", std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == v1);
    node.create_topic("more", {.partitions = 1, .storage = rill::StorageKind::durable, .segment_bytes = 64 * 1024});
  }
  std::ifstream in(fs::path(dir.path()) / "rill.catalog", std::ios::binary);
  const std::string rewritten(std::istreambuf_iterator<char>(in), {});
  CHECK(rewritten.rfind("rill-catalog 2\n", 0) == 0);
  CHECK(rewritten.find("name=orders partitions=2 ") != std::string::npos);
  CHECK(rewritten.find(" cleanup=delete tombstone_retention_ms=86400000\n") != std::string::npos);
  rill::Node node = rill::Node::open(dir.path());
  CHECK(node.list_topics() == std::vector<std::string>{"more", "orders"});
}
