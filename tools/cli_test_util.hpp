// Helpers of the `rill` tool's tests (cli_test.cpp, cli_group_test.cpp):
// run the built binary (its path comes from the build as RILL_CLI_PATH) as a
// child process against a scratch data directory, with its standard output
// and error in files, or its standard error on a pseudo-terminal.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

extern char** environ;

namespace rill::cli::test {

namespace fs = std::filesystem;

struct Outcome {
  int status = -1;  // exit code, or -1 when killed by a signal
  std::string out;
  std::string err;
};

inline std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_all(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

// A scratch folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    // relaxed: only uniqueness matters.
    path_ = fs::temp_directory_path() /
            ("rill-cli-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter.fetch_add(1, std::memory_order_relaxed)));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }
  [[nodiscard]] std::string data() const { return (path_ / "data").string(); }

 private:
  fs::path path_;
};

// The controlling side of a new pseudo-terminal, and the name of the other
// side, which a child opens as its standard error so that isatty() holds.
class PseudoTerminal {
 public:
  PseudoTerminal() {
    controller_ = ::posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(controller_ >= 0);
    REQUIRE(::grantpt(controller_) == 0);
    REQUIRE(::unlockpt(controller_) == 0);
    name_ = ::ptsname(controller_);
  }
  ~PseudoTerminal() { ::close(controller_); }
  PseudoTerminal(const PseudoTerminal&) = delete;
  PseudoTerminal& operator=(const PseudoTerminal&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }
  // What the child wrote, once it has exited (read until the terminal
  // reports that no one holds the other side: EIO on Linux).
  [[nodiscard]] std::string drain() const {
    std::string text;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(controller_, buffer, sizeof buffer);
      if (n > 0) {
        text.append(buffer, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return text;
      }
    }
  }

 private:
  int controller_ = -1;
  std::string name_;
};

// Runs `rill args...` with `input` on stdin; stdout and stderr go to files,
// or stderr to `terminal` when given (its output is then in Outcome::err).
inline Outcome run_cli(const ScratchDir& scratch, const std::vector<std::string>& args,
                       const std::string& input = "", const PseudoTerminal* terminal = nullptr) {
  const fs::path in = scratch.path() / "stdin";
  const fs::path out = scratch.path() / "stdout";
  const fs::path err = scratch.path() / "stderr";
  write_all(in, input);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (terminal != nullptr) {
    posix_spawn_file_actions_addopen(&actions, 2, terminal->name().c_str(), O_RDWR | O_NOCTTY, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  std::vector<std::string> argv_text{RILL_CLI_PATH};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, RILL_CLI_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int wait_status = 0;
  REQUIRE(::waitpid(pid, &wait_status, 0) == pid);
  Outcome outcome;
  outcome.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  outcome.out = read_all(out);
  outcome.err = terminal != nullptr ? terminal->drain() : read_all(err);
  return outcome;
}

// Runs with "--dir <data>" in front and requires success.
inline std::string run_ok(const ScratchDir& scratch, std::vector<std::string> args,
                          const std::string& input = "") {
  args.insert(args.begin(), {"--dir", scratch.data()});
  const Outcome o = run_cli(scratch, args, input);
  INFO("stderr: " << o.err);
  REQUIRE(o.status == 0);
  CHECK(o.err.empty());
  return o.out;
}

inline fs::path first_segment(const ScratchDir& scratch, const std::string& partition_folder) {
  return fs::path(scratch.data()) / partition_folder / "00000000000000000000.log";
}

// Flips one byte of `file` at `position`.
inline void flip_byte(const fs::path& file, std::streamoff position) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(position);
  char c = 0;
  f.get(c);
  f.seekp(position);
  f.put(static_cast<char>(c ^ 0x5a));
}

// Every regular file below `dir` (relative path -> content): two calls
// compare equal when no byte of any file changed.
inline std::map<std::string, std::string> directory_bytes(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    files[fs::relative(entry.path(), dir).string()] =
        std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  return files;
}

}  // namespace rill::cli::test
