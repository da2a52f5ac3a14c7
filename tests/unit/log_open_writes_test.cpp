// Opening a clean log reads it and writes nothing back: no file of the
// partition folder changes, so an open does not dirty the page cache of
// every closed segment (or touch their modification times).
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "log/segment_log.hpp"

namespace {

using namespace rill::log;
using rill::FsyncPolicy;
namespace fs = std::filesystem;

// Sets every file's modification time to a fixed past instant and returns
// the names.
std::map<std::string, std::int64_t> age_files(const std::string& dir) {
  std::map<std::string, std::int64_t> mtimes;
  const timespec past[2] = {{1'600'000'000, 0}, {1'600'000'000, 0}};
  for (const auto& entry : fs::directory_iterator(dir)) {
    REQUIRE(::utimensat(AT_FDCWD, entry.path().c_str(), past, 0) == 0);
    mtimes[entry.path().filename().string()] = 1'600'000'000;
  }
  return mtimes;
}

std::map<std::string, std::int64_t> file_mtimes(const std::string& dir) {
  std::map<std::string, std::int64_t> mtimes;
  for (const auto& entry : fs::directory_iterator(dir)) {
    struct stat st {};
    REQUIRE(::stat(entry.path().c_str(), &st) == 0);
    mtimes[entry.path().filename().string()] = st.st_mtim.tv_sec;
  }
  return mtimes;
}

}  // namespace

TEST_CASE("open: a clean log is opened and closed without writing any of its files", "[log][recovery]") {
  rill::test::TempDir dir("rill-open-writes");
  SegmentLogOptions options;
  options.segment_bytes = 8192;
  options.index_interval_bytes = 256;
  options.fsync_policy = FsyncPolicy::interval;
  {
    auto log = SegmentLog::open(dir.path(), options);
    for (int k = 0; k < 400; ++k) {
      (void)log->append(rill::test::make_batch(2, 1000 + k, "v" + std::to_string(k)), 2);
    }
    REQUIRE(log->segment_base_offsets().size() >= 4);
    log->sync();
    log->checkpoint();
  }
  const auto before = age_files(dir.path());
  {
    auto log = SegmentLog::open(dir.path(), options);
    CHECK(log->end_offset() == 800);
  }
  CHECK(file_mtimes(dir.path()) == before);
}
