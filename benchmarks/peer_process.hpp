// Scratch directories and peer server processes for the durable-log cases.
//
// ScratchDir: a fresh directory under the system temp dir (mkdtemp), removed
// with everything in it when the object goes away.
//
// PeerProcess: a server (redis-server, nats-server) started for one run and
// stopped after it, also when the run throws: the destructor sends SIGTERM,
// waits up to 2 s, then SIGKILLs and reaps. The child gets PR_SET_PDEATHSIG
// so a benchmark killed mid-run takes its servers with it. Its stdout and
// stderr go to a log file in the scratch directory; the last lines of that
// file are quoted when the server exits early or never becomes ready.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rill::bench {

class ScratchDir {
 public:
  // Throws std::runtime_error when the directory cannot be created.
  explicit ScratchDir(std::string_view prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// The program's path: searched in PATH, then in /usr/sbin and /usr/local/sbin
// (where Debian installs nats-server); nullopt when not found.
[[nodiscard]] std::optional<std::filesystem::path> find_program(std::string_view name);

// A loopback TCP port that was free a moment ago (bound to port 0, read,
// released). Another process may take it before the server binds it, so a
// peer that fails to start is retried on a new port (start_peer).
[[nodiscard]] std::uint16_t pick_free_port();

class PeerProcess {
 public:
  // Starts `program` with `args`; output to `log_file`. Throws
  // std::runtime_error when fork fails.
  PeerProcess(const std::filesystem::path& program, const std::vector<std::string>& args,
              std::filesystem::path log_file);
  ~PeerProcess();
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  // Waits until a TCP connect to 127.0.0.1:port succeeds. Returns false when
  // the process exits first or `timeout` passes (it is then stopped).
  [[nodiscard]] bool wait_until_listening(std::uint16_t port, std::chrono::milliseconds timeout);
  // The last lines of the log file, for error messages.
  [[nodiscard]] std::string log_tail() const;

 private:
  void stop() noexcept;
  pid_t pid_ = -1;
  std::filesystem::path log_file_;
};

// A server listening on a loopback port.
struct StartedPeer {
  std::unique_ptr<PeerProcess> process;
  std::uint16_t port = 0;
};

// Starts `program` with args_for(port) on a free port and waits (up to
// `timeout`) until it listens; tries three ports. Throws std::runtime_error
// quoting the server's log when none works.
[[nodiscard]] StartedPeer start_peer(
    const std::filesystem::path& program,
    const std::function<std::vector<std::string>(std::uint16_t port)>& args_for,
    const std::filesystem::path& log_file, std::chrono::milliseconds timeout);

}  // namespace rill::bench
