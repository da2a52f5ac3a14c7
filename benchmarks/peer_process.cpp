// Scratch directories, program lookup, free ports and peer processes
// (peer_process.hpp).
#include "peer_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

namespace rill::bench {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

// A socket fd closed on scope exit.
class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw_errno("socket");
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

bool can_connect(std::uint16_t port) {
  const Socket socket;
  const sockaddr_in address = loopback(port);
  return ::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
}

bool is_executable(const std::filesystem::path& path) {
  return ::access(path.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(path);
}

}  // namespace

ScratchDir::ScratchDir(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / fmt::format("{}-XXXXXX", prefix)).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp " + pattern);
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::optional<std::filesystem::path> find_program(std::string_view name) {
  std::vector<std::filesystem::path> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) dirs.emplace_back(dir);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/usr/local/sbin");
  for (const auto& dir : dirs) {
    const auto candidate = dir / name;
    if (is_executable(candidate)) return candidate;
  }
  return std::nullopt;
}

std::uint16_t pick_free_port() {
  const Socket socket;
  sockaddr_in address = loopback(0);
  if (::bind(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    throw_errno("bind 127.0.0.1:0");
  }
  socklen_t length = sizeof(address);
  if (::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw_errno("getsockname");
  }
  return ntohs(address.sin_port);
}

PeerProcess::PeerProcess(const std::filesystem::path& program, const std::vector<std::string>& args,
                         std::filesystem::path log_file)
    : log_file_(std::move(log_file)) {
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed (the parent has threads).
  std::vector<std::string> storage;
  storage.push_back(program.string());
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string log_path = log_file_.string();
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork " + program.string());
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

PeerProcess::~PeerProcess() { stop(); }

void PeerProcess::stop() noexcept {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

bool PeerProcess::wait_until_listening(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited (e.g. the port was taken): nothing left to stop
      return false;
    }
    if (can_connect(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  return false;
}

std::string PeerProcess::log_tail() const {
  std::ifstream in(log_file_);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string tail;
  const std::size_t first = lines.size() > 5 ? lines.size() - 5 : 0;
  for (std::size_t i = first; i < lines.size(); ++i) tail += (tail.empty() ? "" : " | ") + lines[i];
  return tail.empty() ? std::string("(no output)") : tail;
}

StartedPeer start_peer(const std::filesystem::path& program,
                       const std::function<std::vector<std::string>(std::uint16_t port)>& args_for,
                       const std::filesystem::path& log_file, std::chrono::milliseconds timeout) {
  std::string last_log;
  for (int attempt = 0; attempt < 3; ++attempt) {
    StartedPeer peer;
    peer.port = pick_free_port();
    peer.process = std::make_unique<PeerProcess>(program, args_for(peer.port), log_file);
    if (peer.process->wait_until_listening(peer.port, timeout)) return peer;
    last_log = peer.process->log_tail();
  }
  throw std::runtime_error(
      fmt::format("{} did not start listening: {}", program.filename().string(), last_log));
}

}  // namespace rill::bench
