// Fixtures shared by the durable-log tests: a scratch directory per test and
// small codec batches with recognisable values.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"
#include "log/partition_log.hpp"

namespace rill::test {

// A fresh directory under the system's temp directory, removed with
// everything in it when the object goes. `create` = false leaves only the
// name, for code that must create the directory itself.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix, bool create = true) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    if (create) std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  // The names of the directory's entries, sorted.
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string path_;
};

// A batch of `records` records with values "<tag>/<i>" and timestamps
// ts, ts + 1, ...; base offset 0 until the log assigns one.
inline std::vector<std::byte> make_batch(int records, std::int64_t ts, const std::string& tag) {
  codec::BatchBuilder builder(1 << 16);
  std::vector<std::string> values;
  for (int i = 0; i < records; ++i) values.push_back(tag + "/" + std::to_string(i));
  for (int i = 0; i < records; ++i) {
    Record r;
    r.value = values[i];
    REQUIRE(builder.try_append(r, ts + i));
  }
  const auto bytes = builder.finish();
  return std::vector<std::byte>(bytes.begin(), bytes.end());
}

// Every record of the whole batches in `bytes`, as (offset, value) pairs.
inline std::vector<std::pair<std::int64_t, std::string>> records_of(std::span<const std::byte> bytes) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  while (!bytes.empty()) {
    const codec::BatchView batch = log::next_batch(bytes);
    REQUIRE(batch.valid());
    codec::RecordReader reader(batch);
    codec::DecodedRecord r;
    while (reader.next(r) == codec::DecodeStatus::ok) out.emplace_back(r.offset, std::string(*r.value));
  }
  return out;
}

}  // namespace rill::test
