// One flipped bit in a cleanly closed durable log, in every class of byte
// (each header field, the checksum, the records, the padding; its low or
// high bit, both with RILL_TEST_SCALE > 1) of its first,
// a middle and its last batch, under each fsync policy: the inspection that
// `rill verify` prints reports it and changes no byte; an open refuses it or
// a consumer stops in front of it with Error(corrupt), having returned every
// record before it, in order; nothing acknowledged is cut without repair,
// and a repair cuts the log at the damaged batch, keeping a copy.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "codec/batch_format.hpp"
#include "rill/inspect.hpp"
#include "log/segment_format.hpp"
#include "rill/rill.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using rill::codec::BatchHeader;
using rill::ProblemFate;

constexpr int kBatches = 5;
constexpr int kRecordsPerBatch = 7;
constexpr int kRecords = kBatches * kRecordsPerBatch;

std::string key_of(int i) { return "key-" + std::to_string(i); }
// Lengths chosen so that every batch ends off an 8-byte boundary (padding follows it).
std::string value_of(int i) { return std::string(static_cast<std::size_t>(21 + i % 5), static_cast<char>('a' + i % 26)); }

// A cleanly closed one-partition log of kBatches batches.
void write_log(const std::string& dir, rill::FsyncPolicy policy) {
  rill::Node node = rill::Node::open(dir);
  node.create_topic("t", {.partitions = 1, .storage = rill::StorageKind::durable,
                          .segment_bytes = 1 << 20, .fsync = policy});
  rill::Producer producer(node, {.linger = std::chrono::hours(1)});
  for (int b = 0; b < kBatches; ++b) {
    for (int r = 0; r < kRecordsPerBatch; ++r) {
      const int i = b * kRecordsPerBatch + r;
      (void)producer.send("t", {.key = key_of(i), .value = value_of(i)});
    }
    producer.flush();
  }
}

std::string segment_path(const std::string& dir) {
  return dir + "/t-0/" + rill::log::segment_stem(0) + std::string(rill::log::kLogSuffix);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}


// Every file of the partition folder: no byte changes and no file comes or goes.
std::map<std::string, std::string> log_files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(dir + "/t-0")) {
    files[entry.path().filename().string()] = read_bytes(entry.path().string());
  }
  return files;
}

struct Spot {
  const char* what;
  std::size_t at;  // from the batch's first byte; SIZE_MAX: the first padding byte
};

const Spot kSpots[] = {
    {"base_offset", offsetof(BatchHeader, base_offset)},
    {"base_offset high byte", offsetof(BatchHeader, base_offset) + 7},
    {"checksum", offsetof(BatchHeader, checksum) + 3},
    {"batch_length", offsetof(BatchHeader, batch_length)},
    {"batch_length high byte", offsetof(BatchHeader, batch_length) + 3},
    {"magic", offsetof(BatchHeader, magic)},
    {"reserved0", offsetof(BatchHeader, reserved0)},
    {"attributes", offsetof(BatchHeader, attributes)},
    {"last_offset_delta", offsetof(BatchHeader, last_offset_delta)},
    {"last_offset_delta second byte", offsetof(BatchHeader, last_offset_delta) + 1},
    {"record_count", offsetof(BatchHeader, record_count)},
    {"first_timestamp", offsetof(BatchHeader, first_timestamp)},
    {"max_timestamp", offsetof(BatchHeader, max_timestamp) + 5},
    {"producer_id", offsetof(BatchHeader, producer_id)},
    {"producer_epoch", offsetof(BatchHeader, producer_epoch)},
    {"reserved1", offsetof(BatchHeader, reserved1)},
    {"base_sequence", offsetof(BatchHeader, base_sequence)},
    {"first record byte", rill::codec::kBatchHeaderSize},
    {"a record byte", rill::codec::kBatchHeaderSize + 40},
    {"padding", SIZE_MAX},
};

// Reads the partition from the beginning until the end or an error; the
// records read and the error's message (empty at the end).
std::pair<std::vector<std::string>, std::string> read_all(const rill::Node& node) {
  rill::Consumer consumer(node);
  consumer.assign({{"t", 0}});
  consumer.seek_to_beginning({{"t", 0}});
  std::vector<std::string> seen;
  for (int polls = 0; polls < 100; ++polls) {
    try {
      const rill::PollResult records = consumer.poll(0ms);
      if (records.empty()) return {seen, {}};
      for (const rill::RecordView& r : records) {
        seen.push_back(std::to_string(r.offset()) + ":" + std::string(r.key()) + "=" + std::string(r.value()));
      }
    } catch (const rill::Error& e) {
      CHECK(e.code() == rill::ErrorCode::corrupt);
      const std::int64_t position = consumer.position({"t", 0});
      CHECK(position == static_cast<std::int64_t>(seen.size()));  // in front of the damage
      return {seen, e.what()};
    }
  }
  FAIL("the consumer never reached the end");
  return {};
}

std::vector<std::string> expected_records(int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(std::to_string(i) + ":" + key_of(i) + "=" + value_of(i));
  return out;
}

}  // namespace

TEST_CASE("bit flips: every byte class of the first, a middle and the last batch of a cleanly closed log is reported, and nothing is cut without repair", "[log][damage]") {
  const rill::FsyncPolicy policy =
      GENERATE(rill::FsyncPolicy::none, rill::FsyncPolicy::interval, rill::FsyncPolicy::every_batch);
  rill::test::TempDir pristine("rill-bit-flip");
  write_log(pristine.path(), policy);
  const rill::SegmentReport clean = rill::inspect_segment(segment_path(pristine.path()));
  REQUIRE(clean.problems.empty());
  REQUIRE(clean.batches.size() == kBatches);

  for (const int batch : {0, kBatches / 2, kBatches - 1}) {
    const rill::InspectedBatch& b = clean.batches[static_cast<std::size_t>(batch)];
    REQUIRE(b.size_bytes % 8 != 0);  // the padding class exists
    for (std::size_t spot_index = 0; spot_index < std::size(kSpots); ++spot_index) {
      const Spot& spot = kSpots[spot_index];
      // The low and the high bit of each byte class in turn; both with
      // RILL_TEST_SCALE > 1.
      std::vector<unsigned char> masks{spot_index % 2 == 0 ? std::uint8_t{0x01} : std::uint8_t{0x80}};
      if (rill::test::scale() > 1) masks = {0x01, 0x80};
      for (const unsigned char mask : masks) {
        const bool padding = spot.at == SIZE_MAX;
        const std::size_t at = b.position + (padding ? b.size_bytes : spot.at);
        INFO("policy " << static_cast<int>(policy) << ", batch " << batch << ", " << spot.what << " (byte "
                       << at << "), mask " << int(mask));
        rill::test::TempDir dir("rill-bit-flip-case");
        fs::copy(pristine.path(), dir.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
        rill::test::flip_bit(segment_path(dir.path()), at, mask);
        const auto flipped = log_files(dir.path());

        // The inspection reports it and changes nothing.
        const rill::PartitionReport report = rill::inspect_partition(dir.path() + "/t-0");
        REQUIRE(report.damaged());
        REQUIRE_FALSE(report.segments[0].problems.empty());
        const rill::InspectedProblem& first = report.segments[0].problems[0];
        CHECK(first.fate == (padding ? ProblemFate::harmless : ProblemFate::refused));
        CHECK(first.position >= b.position);
        CHECK(log_files(dir.path()) == flipped);

        // An open refuses it, or a consumer stops in front of its batch.
        const int before = batch * kRecordsPerBatch;  // records of the batches before the damaged one
        try {
          const rill::Node node = rill::Node::open(dir.path());
          const auto [seen, error] = read_all(node);
          if (padding) {
            CHECK(error.empty());
            CHECK(seen == expected_records(kRecords));
          } else {
            CHECK(error.find(segment_path(dir.path())) != std::string::npos);
            CHECK(error.find("byte") != std::string::npos);
            CHECK(seen == expected_records(before));
          }
        } catch (const rill::Error& e) {
          CHECK_FALSE(padding);
          CHECK(e.code() == rill::ErrorCode::corrupt);
          CHECK(std::string(e.what()).find(segment_path(dir.path())) != std::string::npos);
        }
        CHECK(log_files(dir.path()) == flipped);  // nothing was cut

        if (padding) continue;
        // A repair cuts the log at the damaged batch and keeps a copy.
        {
          const rill::Node node = rill::Node::open(dir.path(), {.repair = true});
          const auto [seen, error] = read_all(node);
          CHECK(error.empty());
          CHECK(seen == expected_records(before));
        }
        CHECK(fs::exists(segment_path(dir.path()) + std::string(rill::log::kDamagedSuffix)));
        CHECK_FALSE(rill::inspect_partition(dir.path() + "/t-0").damaged());
      }
    }
  }
}
