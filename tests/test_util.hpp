// Shared helpers for rill's tests: the size knob and printed, reproducible seeds.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
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

// Flips the bits of `mask` in the byte at `position` of `file`.
inline void flip_bit(const std::filesystem::path& file, std::size_t position, unsigned char mask) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(position));
  char c = 0;
  REQUIRE(f.get(c));
  f.seekp(static_cast<std::streamoff>(position));
  f.put(static_cast<char>(static_cast<unsigned char>(c) ^ mask));
  REQUIRE(f);
}

// Ends the calling process at once by SIGKILL, as a crash would: no
// destructor runs, nothing is closed, synced or flushed.
[[noreturn]] inline void die_by_sigkill() {
  ::kill(::getpid(), SIGKILL);
  ::_exit(4);
}

// Runs `body` in a forked child process, which must end by calling
// die_by_sigkill() while its objects are still alive (so the recovery point
// stays where the last orderly close or sync left it). `body` may write to
// the file descriptor it is given; returns what it wrote. Fails the test if
// the child throws, returns or dies otherwise. Fork only while this process
// runs no other thread of its own (no Node open).
inline std::string in_killed_child(const std::function<void(int out)>& body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    try {
      body(pipe_fds[1]);
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(5);  // returned: its objects were destroyed in order, no crash
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n > 0);
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  return out;
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
