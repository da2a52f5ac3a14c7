// Hostile input: names, records, options and data directories that a caller
// (or a typo) may hand the library. Every row must be refused with the right
// error code and a message that names the bad field or value, and must leave
// nothing behind outside the data directory.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "support/fault_injecting_file_system.hpp"
#include "log/file_system.hpp"
#include "log/segment_log.hpp"
#include "rill/consumer.hpp"
#include "rill/error.hpp"
#include "rill/node.hpp"
#include "rill/producer.hpp"
#include "test_util.hpp"
#include "broker/catalog.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rill::ErrorCode;

struct Refusal {
  bool thrown = false;
  ErrorCode code = ErrorCode::invalid_argument;
  std::string message;
};

Refusal refusal_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const rill::Error& e) {
    return {true, e.code(), e.what()};
  }
  return {};
}

// Every path under `root`, except those inside `data`, relative and sorted.
std::vector<std::string> listing_outside(const fs::path& root, const fs::path& data) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path() == data) {
      it.disable_recursion_pending();
      continue;
    }
    out.push_back(fs::relative(it->path(), root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Row {
  std::string label;
  std::function<void(const fs::path& data)> action;
  ErrorCode code;
  std::vector<std::string> message_parts;  // each must appear in the message
};

// Runs each row against a fresh data directory "<tmp>/data" and checks the
// refusal and that nothing appeared next to the data directory.
void run_rows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    INFO("row: " << row.label);
    rill::test::TempDir parent("rill-hostile");
    const fs::path data = fs::path(parent.path()) / "data";
    fs::create_directories(data);
    const auto before = listing_outside(parent.path(), data);
    const Refusal r = refusal_of([&] { row.action(data); });
    REQUIRE(r.thrown);
    INFO("message: " << r.message);
    CHECK(rill::to_string(r.code) == std::string(rill::to_string(row.code)));
    for (const std::string& part : row.message_parts) CHECK_THAT(r.message, Catch::Matchers::Contains(part));
    CHECK(listing_outside(parent.path(), data) == before);
  }
}

rill::TopicOptions durable(rill::TopicOptions o = {}) {
  o.storage = rill::StorageKind::durable;
  if (o.segment_bytes == 0) o.segment_bytes = 64 * 1024;
  return o;
}

struct BadName {
  std::string name;
  std::string shown;  // how the message shows it
};

const std::vector<BadName>& bad_names() {
  static const std::vector<BadName> names = {
      {"", "\"\": must not be empty"},
      {".", "\".\""},
      {"..", "\"..\""},
      {"/", "\"/\": '/' is not allowed"},
      {"\\", "\"\\x5c\": '\\' is not allowed"},
      {"a/b", "\"a/b\": '/' is not allowed"},
      {"../x", "\"../x\": '/' is not allowed"},
      {std::string("a\0b", 3), "\"a\\x00b\": byte 0x00 is not allowed"},
      {std::string(250, 'x'), "250 characters is too long (at most 249)"},
      {"caf\xc3\xa9", "\"caf\\xc3\\xa9\": byte 0xc3 is not allowed"},
      {"-x", "\"-x\": a leading '-' is not allowed"},
  };
  return names;
}

}  // namespace

TEST_CASE("hostile input: bad topic names are refused on memory and durable nodes", "[hostile][names]") {
  std::vector<Row> rows;
  for (const BadName& bad : bad_names()) {
    rows.push_back({"memory topic " + bad.shown,
                    [name = bad.name](const fs::path&) { rill::Node::in_memory().create_topic(name); },
                    ErrorCode::invalid_argument, {"topic name", bad.shown}});
    rows.push_back({"durable topic " + bad.shown,
                    [name = bad.name](const fs::path& data) { rill::Node::open(data).create_topic(name, durable()); },
                    ErrorCode::invalid_argument, {"topic name", bad.shown}});
  }
  rows.push_back({"internal topic __x", [](const fs::path& data) { rill::Node::open(data).create_topic("__x", durable()); },
                  ErrorCode::invalid_argument, {"\"__x\"", "reserved"}});
  run_rows(rows);
}

TEST_CASE("hostile input: bad group ids are refused by the consumer", "[hostile][names]") {
  std::vector<Row> rows;
  for (const BadName& bad : bad_names()) {
    if (bad.name.empty()) continue;  // an empty group id means "no group"
    rows.push_back({"group " + bad.shown,
                    [name = bad.name](const fs::path& data) {
                      const rill::Node node = rill::Node::open(data);
                      rill::Consumer consumer(node, {.group = name});
                    },
                    ErrorCode::invalid_argument, {"group id", bad.shown}});
  }
  run_rows(rows);
}

TEST_CASE("hostile input: oversize records and header counts are refused", "[hostile][records]") {
  const std::string big(2000, 'v');
  std::vector<rill::Header> many_headers(100'000, rill::Header{"h", ""});
  const auto send = [](rill::TopicOptions o, rill::Record record) {
    return [o, record](const fs::path& data) {
      rill::Node node = o.storage == rill::StorageKind::durable ? rill::Node::open(data) : rill::Node::in_memory();
      node.create_topic("t", o);
      rill::Producer producer(node);
      (void)producer.send("t", record).get();
    };
  };
  rill::Record large;
  large.value = big;
  rill::Record headers;
  headers.value = "v";
  headers.headers = many_headers;
  run_rows({
      {"memory record over max_record_bytes", send({.max_record_bytes = 1024}, large), ErrorCode::record_too_large,
       {"max_record_bytes = 1024", "value 2000"}},
      {"durable record over max_record_bytes", send(durable({.max_record_bytes = 1024}), large),
       ErrorCode::record_too_large, {"max_record_bytes = 1024", "value 2000"}},
      {"memory record with 100000 headers", send({}, headers), ErrorCode::record_too_large,
       {"100000 headers", "max_record_bytes"}},
      {"durable record with 100000 headers", send(durable(), headers), ErrorCode::record_too_large,
       {"100000 headers", "max_record_bytes"}},
  });
}

TEST_CASE("hostile input: absurd topic options are refused", "[hostile][options]") {
  const auto create = [](rill::TopicOptions o) {
    return [o](const fs::path& data) {
      rill::Node node = o.storage == rill::StorageKind::durable ? rill::Node::open(data) : rill::Node::in_memory();
      node.create_topic("t", o);
    };
  };
  const auto bad = ErrorCode::invalid_argument;
  run_rows({
      {"partitions 0", create({.partitions = 0}), bad, {"partitions = 0"}},
      {"partitions -1", create({.partitions = -1}), bad, {"partitions = -1"}},
      {"partitions 100000", create({.partitions = 100000}), bad, {"partitions = 100000"}},
      {"durable partitions 100000", create(durable({.partitions = 100000})), bad, {"partitions = 100000"}},
      {"capacity_bytes 1", create({.capacity_bytes = 1}), bad, {"capacity_bytes = 1"}},
      {"segment_bytes 5000", create(durable({.segment_bytes = 5000})), bad, {"segment_bytes = 5000"}},
      {"segment_bytes 2^40", create(durable({.segment_bytes = std::size_t{1} << 40})), bad,
       {"segment_bytes = 1099511627776"}},
      {"retention_ms -1", create(durable({.retention_ms = -1ms})), bad, {"retention_ms"}},
      {"fsync_interval 0 under interval",
       create(durable({.fsync = rill::FsyncPolicy::interval, .fsync_interval = 0ms})), bad, {"fsync_interval"}},
      {"tombstone_retention -1",
       create(durable({.cleanup = rill::CleanupPolicy::compact, .tombstone_retention = -1ms})), bad,
       {"tombstone_retention"}},
  });
}

TEST_CASE("hostile input: absurd producer and consumer options are refused", "[hostile][options]") {
  const auto bad = ErrorCode::invalid_argument;
  run_rows({
      {"batch_bytes 0", [](const fs::path&) { rill::Producer p(rill::Node::in_memory(), {.batch_bytes = 0}); }, bad,
       {"batch_bytes = 0"}},
      {"max_poll_records 0",
       [](const fs::path&) { rill::Consumer c(rill::Node::in_memory(), {.max_poll_records = 0}); }, bad,
       {"max_poll_records"}},
      {"session_timeout 0",
       [](const fs::path&) { rill::Consumer c(rill::Node::in_memory(), {.session_timeout = 0ms}); }, bad,
       {"session_timeout"}},
  });
}

TEST_CASE("hostile input: data directories that cannot be used are refused", "[hostile][directory]") {
  run_rows({
      {"a regular file",
       [](const fs::path& data) {
         std::ofstream(data / "file") << "not a directory";
         (void)rill::Node::open(data / "file");
       },
       ErrorCode::invalid_argument, {"/data/file\"", "not a directory"}},
      {"a path through a file",
       [](const fs::path& data) {
         std::ofstream(data / "file") << "not a directory";
         (void)rill::Node::open(data / "file" / "node");
       },
       ErrorCode::io, {"/data/file/node\""}},
      {"missing, without create_if_missing",
       [](const fs::path& data) { (void)rill::Node::open(data / "absent", {.create_if_missing = false}); },
       ErrorCode::not_found, {"/data/absent\"", "create_if_missing"}},
  });
}

TEST_CASE("hostile input: an unwritable data directory is refused", "[hostile][directory]") {
  rill::test::TempDir parent("rill-hostile");
  const fs::path data = fs::path(parent.path()) / "data";
  fs::create_directories(data);
  REQUIRE(::chmod(data.c_str(), 0500) == 0);
  // Root (and some containers) ignore permission bits: then there is nothing to test.
  const bool bites = !std::ofstream(data / "probe");
  if (!bites) {
    WARN("permission bits do not apply to this user (root?): the unwritable-directory row is skipped");
    fs::remove(data / "probe");
    REQUIRE(::chmod(data.c_str(), 0700) == 0);
    return;
  }
  const auto before = listing_outside(parent.path(), data);
  const Refusal r = refusal_of([&] { rill::Node::open(data).create_topic("t", durable()); });
  REQUIRE(::chmod(data.c_str(), 0700) == 0);
  REQUIRE(r.thrown);
  INFO("message: " << r.message);
  CHECK(r.code == ErrorCode::io);
  CHECK_THAT(r.message, Catch::Matchers::Contains(data.string()));
  CHECK(listing_outside(parent.path(), data) == before);
}

TEST_CASE("hostile input: a full file system fails the catalog and segment creation cleanly",
          "[hostile][directory]") {
  using Fault = rill::log::FaultInjectingFileSystem;
  run_rows({
      {"ENOSPC writing the catalog",
       [](const fs::path& data) {
         Fault full(rill::log::default_file_system());
         full.fail_call(Fault::Op::write, 1, Fault::Fault::enospc);
         rill::broker::CatalogEntry entry{"orders", durable()};
         try {
           rill::broker::write_catalog(full, data.string(), {entry});
         } catch (const rill::Error&) {
           CHECK_FALSE(fs::exists(data / rill::broker::kCatalogFileName));
           throw;
         }
       },
       ErrorCode::io, {"rill.catalog.tmp"}},
      {"ENOSPC preallocating the first segment",
       [](const fs::path& data) {
         Fault full(rill::log::default_file_system());
         full.fail_call(Fault::Op::allocate, 1, Fault::Fault::enospc);
         const std::string dir = (data / "orders-0").string();
         try {
           (void)rill::log::SegmentLog::open(dir, {.segment_bytes = 64 * 1024}, full);
         } catch (const rill::Error&) {
           // No half-made segment is left for the next open to trip on.
           for (const auto& e : fs::directory_iterator(dir)) FAIL("left behind: " << e.path().string());
           throw;
         }
       },
       ErrorCode::io, {"orders-0/00000000000000000000.log"}},
  });
}
