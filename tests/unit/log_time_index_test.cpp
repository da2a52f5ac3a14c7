// A time index that is well ordered but lies about its timestamps (found by
// tests/fuzz/segment_index_fuzz.cpp; the input is kept in its corpus as
// regression_low_time_index_timestamp). Recovery used to check time index
// entries for order only, so an entry claiming a timestamp lower than its
// own batch's was believed and offset_for_timestamp skipped earlier batches.
// Recovery now checks each entry against the batch it names and drops it
// (and those after it) when it is lower.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "log/segment_format.hpp"
#include "log_test_util.hpp"

TEST_CASE("log: a time index entry with too low a timestamp does not hide earlier batches",
          "[log][index]") {
  rill::test::TempDir dir("rill-time-index");
  rill::log::SegmentLogOptions options;
  options.segment_bytes = 16 * 1024;
  options.index_interval_bytes = 64;
  {
    auto log = rill::log::SegmentLog::open(dir.path(), options);
    for (int i = 0; i < 8; ++i) (void)log->append(rill::test::make_batch(2, 1000 + 10 * i, "b"), 2);
  }
  // The first entry now claims that every batch up to its offset is at most 1 ms old.
  const std::string time_index = dir.file(rill::log::segment_stem(0) + ".timeindex");
  {
    std::fstream file(time_index, std::ios::in | std::ios::out | std::ios::binary);
    rill::log::TimeIndexEntry first{};
    file.read(reinterpret_cast<char*>(&first), sizeof first);
    REQUIRE(first.relative_offset > 0);
    first.timestamp = 1;
    file.seekp(0);
    file.write(reinterpret_cast<const char*>(&first), sizeof first);
  }
  auto log = rill::log::SegmentLog::open(dir.path(), options, rill::log::default_file_system(),
                                           [](const std::string&) {});
  CHECK(log->offset_for_timestamp(1000) == 0);
  CHECK(log->offset_for_timestamp(1001) == 0);
}
