// Shared helpers for rill's tests: the size knob and printed, reproducible seeds.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/error.hpp"

namespace rill::test {

// RILL_TEST_SCALE multiplies the iteration counts of stress and randomized
// tests: 1 (default) for CI, larger for soak runs.
inline std::uint64_t scale() {
  const char* s = std::getenv("RILL_TEST_SCALE");
  if (s == nullptr || *s == '\0') return 1;
  const long v = std::strtol(s, nullptr, 10);
  return v > 0 ? static_cast<std::uint64_t>(v) : 1;
}

// RILL_TEST_SEED fixes the seed of randomized tests; otherwise a fresh one is
// drawn. Either way it is printed so that a failure can be reproduced.
inline std::uint64_t seed() {
  std::uint64_t value;
  if (const char* s = std::getenv("RILL_TEST_SEED"); s != nullptr && *s != '\0') {
    value = std::strtoull(s, nullptr, 10);
  } else {
    value = std::random_device{}();
  }
  UNSCOPED_INFO("seed: RILL_TEST_SEED=" << value);
  return value;
}

// Runs `call` and returns the code of the rill::Error it throws; fails the
// test if it throws nothing.
template <class Call>
ErrorCode error_of(Call&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("expected a rill::Error");
  return ErrorCode::unsupported;
}

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

}  // namespace rill::test
