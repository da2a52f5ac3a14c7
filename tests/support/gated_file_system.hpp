// GatedFileSystem: the real file system for tests of group commit. It
// counts data syncs, can hold every sync at a gate until the test opens
// it (so a test decides which appends land while a sync is in flight,
// without timing), and can make a chosen sync fail with EIO after it
// passed the gate.
//
// Thread-safe, unlike FaultInjectingFileSystem: appends and syncs run on
// several threads in these tests. Only sync() is gated or failed; every
// other call goes straight to the PosixFileSystem inside.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "log/file_system.hpp"

namespace rill::log {

class GatedFileSystem final : public FileSystem {
 public:
  // Data syncs that succeeded (a failed one is not counted).
  std::atomic<int> syncs{0};

  // Later syncs wait at the gate until open_gate().
  void close_gate();
  void open_gate();
  // Waits until a sync is held at the closed gate; the second form gives
  // up after `limit` and says whether one is.
  void wait_for_waiter();
  [[nodiscard]] bool wait_for_waiter(std::chrono::milliseconds limit);
  // The n-th sync from now (1 = the next) fails with Error(io) once it
  // passed the gate, writing nothing.
  void fail_sync(int n);

  File open(const std::string& path, OpenMode mode) override { return inner_.open(path, mode); }
  void close(File& file) noexcept override { inner_.close(file); }
  std::uint64_t file_size(const File& file) override { return inner_.file_size(file); }
  void allocate(const File& file, std::uint64_t size) override { inner_.allocate(file, size); }
  void truncate(const File& file, std::uint64_t size) override { inner_.truncate(file, size); }
  std::byte* map(const File& file, std::size_t size) override { return inner_.map(file, size); }
  void unmap(std::byte* mapping, std::size_t size) noexcept override { inner_.unmap(mapping, size); }
  void sync(const File& file, std::byte* mapping, std::size_t offset, std::size_t length) override;
  void write(const File& file, std::uint64_t offset, std::span<const std::byte> bytes) override {
    inner_.write(file, offset, bytes);
  }
  void rename(const std::string& from, const std::string& to) override { inner_.rename(from, to); }
  void unlink(const std::string& path) override { inner_.unlink(path); }
  void create_directories(const std::string& path) override { inner_.create_directories(path); }
  void sync_directory(const std::string& path) override { inner_.sync_directory(path); }
  std::vector<std::byte> read_file(const std::string& path) override { return inner_.read_file(path); }
  std::vector<std::string> list_directory(const std::string& path) override { return inner_.list_directory(path); }
  bool exists(const std::string& path) override { return inner_.exists(path); }

 private:
  PosixFileSystem inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool gate_open_ = true;
  int waiting_ = 0;
  int fail_countdown_ = 0;  // 0: no sync is to fail
};

}  // namespace rill::log
