// Hostile input at the durable log's own entry points: options a partition
// log refuses at open, bytes it refuses to append, and byte runs that
// next_batch must stop on. Each refusal names the bad value.
#include <cstddef>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "log_test_util.hpp"
#include "rill/error.hpp"

namespace {

using namespace std::chrono_literals;

// The message of the rill::Error that `action` throws, checking its code.
std::string refusal(rill::ErrorCode code, const std::function<void()>& action) {
  try {
    action();
  } catch (const rill::Error& e) {
    CHECK(e.code() == code);
    return e.what();
  }
  FAIL("no rill::Error was thrown");
  return {};
}

rill::log::SegmentLogOptions small() {
  rill::log::SegmentLogOptions o;
  o.segment_bytes = 16 * 1024;
  return o;
}

}  // namespace

TEST_CASE("log hostile: bad partition log options are refused at open", "[log][hostile]") {
  rill::test::TempDir dir("rill-log-hostile");
  struct Row {
    std::string label;
    std::function<void(rill::log::SegmentLogOptions&)> change;
    std::string message_part;
  };
  const std::vector<Row> rows = {
      {"negative initial offset", [](auto& o) { o.initial_offset = -1; }, "initial offset -1"},
      {"zero fsync interval", [](auto& o) { o.fsync_policy = rill::FsyncPolicy::interval; o.fsync_interval = 0ms; },
       "fsync interval must be positive"},
      {"segment not a multiple of 4096", [](auto& o) { o.segment_bytes = 5000; }, "segment size 5000 bytes"},
      {"segment of 2^40 bytes", [](auto& o) { o.segment_bytes = std::size_t{1} << 40; },
       "segment size 1099511627776 bytes"},
      {"index interval of 1 byte", [](auto& o) { o.index_interval_bytes = 1; }, "index interval 1 bytes"},
  };
  for (const Row& row : rows) {
    INFO("row: " << row.label);
    rill::log::SegmentLogOptions o = small();
    row.change(o);
    const std::string message = refusal(rill::ErrorCode::invalid_argument, [&] {
      (void)rill::log::SegmentLog::open(dir.file(row.label.substr(0, 4)), o);
    });
    CHECK_THAT(message, Catch::Matchers::Contains(row.message_part));
  }
}

TEST_CASE("log hostile: appends of bytes that are not one fitting batch are refused", "[log][hostile]") {
  rill::test::TempDir dir("rill-log-hostile");
  auto log = rill::log::SegmentLog::open(dir.path(), small());
  const std::vector<std::byte> batch = rill::test::make_batch(3, 100, "v");
  std::vector<std::byte> two = batch;
  two.insert(two.end(), batch.begin(), batch.end());
  const std::vector<std::byte> garbage(128, std::byte{0x5a});
  const auto bad = rill::ErrorCode::invalid_argument;
  CHECK_THAT(refusal(bad, [&] { (void)log->append(garbage, 1); }), Catch::Matchers::Contains("128 bytes that are not one whole batch"));
  CHECK_THAT(refusal(bad, [&] { (void)log->append(two, 3); }), Catch::Matchers::Contains("not one whole batch"));
  CHECK_THAT(refusal(bad, [&] { (void)log->append(batch, 2); }),
             Catch::Matchers::Contains("record count 2 does not match the batch, which covers 3 offsets"));
  // A batch larger than a whole segment.
  rill::codec::BatchBuilder builder(64 * 1024);
  const std::string value(20 * 1024, 'x');
  rill::Record record;
  record.value = value;
  REQUIRE(builder.try_append(record, 1));
  const auto huge = builder.finish();
  CHECK_THAT(refusal(bad, [&] { (void)log->append(huge, 1); }),
             Catch::Matchers::Contains("cannot fit a segment of 16384 bytes"));
  // Nothing was appended by any of them; a good batch still goes in at offset 0.
  CHECK(log->end_offset() == 0);
  CHECK(log->append(batch, 3).base_offset == 0);
}

TEST_CASE("log hostile: next_batch stops on short or damaged bytes", "[log][hostile]") {
  const std::vector<std::byte> batch = rill::test::make_batch(2, 100, "v");
  std::span<const std::byte> short_bytes(batch.data(), 10);
  CHECK_FALSE(rill::log::next_batch(short_bytes).valid());
  CHECK(short_bytes.empty());
  std::vector<std::byte> damaged = batch;
  damaged[offsetof(rill::codec::BatchHeader, magic)] = std::byte{0xff};
  std::span<const std::byte> damaged_bytes(damaged);
  CHECK_FALSE(rill::log::next_batch(damaged_bytes).valid());
  CHECK(damaged_bytes.empty());
  std::span<const std::byte> good(batch);
  CHECK(rill::log::next_batch(good).valid());
  CHECK(good.empty());
}
