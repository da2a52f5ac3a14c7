// DirectoryLock: one node per data directory at a time.
//
// An exclusive flock(2) on "<dir>/.lock", taken without waiting and held
// until the DirectoryLock is destroyed. flock belongs to the open file, so a
// second open of the same directory fails in this process as in another one,
// and the kernel drops the lock when its holder exits, even by SIGKILL: a
// crashed node never blocks the next open. The holder writes its pid and
// host name into the file so that a refused open can say who holds it.
#pragma once

#include <string>

namespace rill::broker {

class DirectoryLock {
 public:
  // Locks `dir` (which must exist). Throws Error(io) naming the holder when
  // another node holds it, or naming the call that failed.
  explicit DirectoryLock(const std::string& dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace rill::broker
