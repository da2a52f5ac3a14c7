#include "support/gated_file_system.hpp"

#include "rill/error.hpp"

namespace rill::log {

void GatedFileSystem::close_gate() {
  std::lock_guard lock(mutex_);
  gate_open_ = false;
}

void GatedFileSystem::open_gate() {
  {
    std::lock_guard lock(mutex_);
    gate_open_ = true;
  }
  changed_.notify_all();
}

void GatedFileSystem::wait_for_waiter() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return waiting_ > 0; });
}

bool GatedFileSystem::wait_for_waiter(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return waiting_ > 0; });
}

void GatedFileSystem::fail_sync(int n) {
  std::lock_guard lock(mutex_);
  fail_countdown_ = n;
}

void GatedFileSystem::sync(const File& file, std::byte* mapping, std::size_t offset, std::size_t length) {
  bool fail = false;
  {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return gate_open_; });
    --waiting_;
    fail = fail_countdown_ > 0 && --fail_countdown_ == 0;
  }
  if (fail) throw Error(ErrorCode::io, "sync \"" + file.path + "\": Input/output error (injected)");
  syncs.fetch_add(1, std::memory_order_relaxed);  // relaxed: a count, read after the threads joined
  inner_.sync(file, mapping, offset, length);
}

}  // namespace rill::log
