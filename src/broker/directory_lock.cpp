#include "broker/directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "rill/error.hpp"

namespace rill::broker {
namespace {

constexpr const char* kLockFileName = ".lock";

// What the holder wrote into the lock file, on one line.
std::string holder_of(int fd) {
  std::array<char, 256> buffer{};
  const ssize_t n = ::pread(fd, buffer.data(), buffer.size() - 1, 0);
  if (n <= 0) return "a process that has not written its pid yet";
  std::string text(buffer.data(), static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

void write_owner(int fd) {
  std::array<char, 128> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) std::strcpy(host.data(), "?");
  const std::string text = fmt::format("pid {} on host {}\n", ::getpid(), host.data());
  // Best effort: the lock works without it, only the message is poorer.
  if (::ftruncate(fd, 0) == 0) {
    (void)!::pwrite(fd, text.data(), text.size(), 0);
  }
}

}  // namespace

DirectoryLock::DirectoryLock(const std::string& dir) {
  const std::string path = dir + "/" + kLockFileName;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(ErrorCode::io, fmt::format("open \"{}\": {}", path, std::strerror(errno)));
  }
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    std::string message;
    if (error == EWOULDBLOCK) {
      message = fmt::format("data directory \"{}\" is in use by another rill::Node ({}, holding "
                            "\"{}\"); close that node (it may be in this process) or use another "
                            "directory",
                            dir, holder_of(fd_), path);
    } else {
      message = fmt::format("flock \"{}\": {}", path, std::strerror(error));
    }
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorCode::io, message);
  }
  write_owner(fd_);
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace rill::broker
