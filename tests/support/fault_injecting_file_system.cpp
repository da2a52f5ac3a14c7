// FaultInjectingFileSystem (fault_injecting_file_system.hpp).
#include "support/fault_injecting_file_system.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "rill/error.hpp"

namespace rill::log {

namespace {

const char* op_name(FaultInjectingFileSystem::Op op) noexcept {
  using Op = FaultInjectingFileSystem::Op;
  switch (op) {
    case Op::any: return "call";
    case Op::open: return "open";
    case Op::file_size: return "stat";
    case Op::allocate: return "allocate";
    case Op::truncate: return "truncate";
    case Op::map: return "mmap";
    case Op::sync: return "fdatasync";
    case Op::write: return "write";
    case Op::rename: return "rename";
    case Op::unlink: return "unlink";
    case Op::create_directories: return "create directory";
    case Op::sync_directory: return "fsync directory";
    case Op::read_file: return "read";
    case Op::list_directory: return "list directory";
    case Op::exists: return "stat";
  }
  return "call";
}

[[noreturn]] void throw_injected(FaultInjectingFileSystem::Op op, const std::string& path,
                                 int error) {
  throw Error(ErrorCode::io, fmt::format("{} \"{}\": {} (injected fault)", op_name(op), path,
                                         std::strerror(error)));
}

// xorshift64*: a small reproducible generator for garbage bytes.
std::uint64_t next_random(std::uint64_t& state) noexcept {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

std::string strip_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

bool in_directory(const std::string& path, const std::string& dir) {
  return strip_slash(parent_path(path)) == strip_slash(dir);
}

std::byte byte_at(const std::vector<std::byte>& bytes, std::size_t i) noexcept {
  return i < bytes.size() ? bytes[i] : std::byte{0};
}

// The first byte of [start, end) where `a` and `b` (read as zero past their
// ends) differ, or `end`.
std::size_t first_difference(const std::vector<std::byte>& a, const std::vector<std::byte>& b,
                             std::size_t start, std::size_t end) noexcept {
  while (start < end && byte_at(a, start) == byte_at(b, start)) ++start;
  return start;
}

}  // namespace

void FaultInjectingFileSystem::fail_call(Op op, std::uint64_t n, Fault fault) {
  if (n == 0) throw Error(ErrorCode::invalid_argument, "fail_call: n counts from 1");
  faults_.push_back(ArmedFault{op, n, fault});
}

void FaultInjectingFileSystem::cut_power_after(std::uint64_t n) {
  if (n == 0) throw Error(ErrorCode::invalid_argument, "cut_power_after: n counts from 1");
  cut_at_ = calls_ + n;
}

const FaultInjectingFileSystem::ArmedFault* FaultInjectingFileSystem::next_fault(Op op) {
  ++calls_;
  if (cut_at_ != 0 && calls_ >= cut_at_) {
    // The machine has stopped: nothing reaches the disk any more.
    fired_fault_ = ArmedFault{op, 0, Fault::eio};
    return &fired_fault_;
  }
  const ArmedFault* due = nullptr;
  for (auto it = faults_.begin(); it != faults_.end();) {
    if (it->op != Op::any && it->op != op) {
      ++it;
      continue;
    }
    if (it->calls_left == 1 && due != nullptr) {
      ++it;  // due on this call too: it fires on the next call it counts
      continue;
    }
    if (--it->calls_left == 0) {
      fired_fault_ = *it;
      due = &fired_fault_;
      ++fired_;
      it = faults_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

void FaultInjectingFileSystem::maybe_fail(Op op, const std::string& path) {
  if (const ArmedFault* fault = next_fault(op)) {
    throw_injected(op, path, fault->fault == Fault::eio ? EIO : ENOSPC);
  }
}

void FaultInjectingFileSystem::track_existing(const std::string& path) {
  if (files_.count(path) != 0) return;
  files_[path] = Durable{inner_.read_file(path), true};
}

bool FaultInjectingFileSystem::note_removed(const std::string& path) {
  if (files_.count(path) == 0 && inner_.exists(path)) track_existing(path);
  const auto it = files_.find(path);
  // An older durable name already noted stays: it is what a loss brings back.
  if (it == files_.end() || !it->second.directory_synced) return false;
  return removed_.emplace(path, it->second.synced).second;
}

void FaultInjectingFileSystem::restore_removed() {
  for (const auto& [path, bytes] : removed_) {
    File file = inner_.open(path, OpenMode::create_or_open);
    inner_.truncate(file, 0);
    inner_.write(file, 0, bytes);
    inner_.close(file);
    files_[path] = Durable{bytes, true};
  }
  removed_.clear();
}

File FaultInjectingFileSystem::open(const std::string& path, OpenMode mode) {
  maybe_fail(Op::open, path);
  const bool existed = inner_.exists(path);
  if (existed) track_existing(path);
  File file = inner_.open(path, mode);
  if (!existed) files_[path] = Durable{};
  return file;
}

void FaultInjectingFileSystem::close(File& file) noexcept { inner_.close(file); }

std::uint64_t FaultInjectingFileSystem::file_size(const File& file) {
  maybe_fail(Op::file_size, file.path);
  return inner_.file_size(file);
}

void FaultInjectingFileSystem::allocate(const File& file, std::uint64_t size) {
  maybe_fail(Op::allocate, file.path);
  inner_.allocate(file, size);
}

void FaultInjectingFileSystem::truncate(const File& file, std::uint64_t size) {
  maybe_fail(Op::truncate, file.path);
  inner_.truncate(file, size);
}

std::byte* FaultInjectingFileSystem::map(const File& file, std::size_t size) {
  maybe_fail(Op::map, file.path);
  return inner_.map(file, size);
}

void FaultInjectingFileSystem::unmap(std::byte* mapping, std::size_t size) noexcept {
  inner_.unmap(mapping, size);
}

void FaultInjectingFileSystem::sync(const File& file, std::byte* mapping, std::size_t offset,
                                    std::size_t length) {
  maybe_fail(Op::sync, file.path);
  if (!skip_real_syncs_) inner_.sync(file, mapping, offset, length);
  std::vector<std::byte> current = inner_.read_file(file.path);
  std::vector<std::byte>& synced = files_[file.path].synced;
  if (mapping == nullptr) {
    synced = std::move(current);  // fdatasync: every dirty page of the file
    return;
  }
  // msync of a range: only that range (the mapped file's size is already set).
  synced.resize(current.size());
  const std::size_t end = std::min(current.size(), offset + length);
  if (offset < end) std::copy(current.begin() + offset, current.begin() + end, synced.begin() + offset);
}

void FaultInjectingFileSystem::write(const File& file, std::uint64_t offset,
                                     std::span<const std::byte> bytes) {
  if (const ArmedFault* fault = next_fault(Op::write)) {
    if (fault->fault == Fault::short_write) {
      inner_.write(file, offset, bytes.first(bytes.size() / 2));
      throw Error(ErrorCode::io, fmt::format("write \"{}\": short write, {} of {} bytes, {} "
                                             "(injected fault)",
                                             file.path, bytes.size() / 2, bytes.size(),
                                             std::strerror(ENOSPC)));
    }
    throw_injected(Op::write, file.path, fault->fault == Fault::eio ? EIO : ENOSPC);
  }
  inner_.write(file, offset, bytes);
}

void FaultInjectingFileSystem::rename(const std::string& from, const std::string& to) {
  maybe_fail(Op::rename, from);
  track_existing(from);
  const bool from_noted = note_removed(from);
  const bool to_noted = note_removed(to);
  try {
    inner_.rename(from, to);
  } catch (...) {
    // Nothing moved: neither name is removed.
    if (from_noted) removed_.erase(from);
    if (to_noted) removed_.erase(to);
    throw;
  }
  Durable moved = std::move(files_[from]);
  files_.erase(from);
  moved.directory_synced = false;  // the new name is durable after a directory sync
  files_[to] = std::move(moved);
}

void FaultInjectingFileSystem::unlink(const std::string& path) {
  maybe_fail(Op::unlink, path);
  const bool noted = note_removed(path);
  try {
    inner_.unlink(path);
  } catch (...) {
    if (noted) removed_.erase(path);  // the name is still there
    throw;
  }
  files_.erase(path);
}

void FaultInjectingFileSystem::create_directories(const std::string& path) {
  maybe_fail(Op::create_directories, path);
  inner_.create_directories(path);
}

void FaultInjectingFileSystem::sync_directory(const std::string& path) {
  maybe_fail(Op::sync_directory, path);
  if (!skip_real_syncs_) inner_.sync_directory(path);
  for (auto& [name, durable] : files_) {
    if (in_directory(name, path)) durable.directory_synced = true;
  }
  std::erase_if(removed_, [&](const auto& entry) { return in_directory(entry.first, path); });
}

std::vector<std::byte> FaultInjectingFileSystem::read_file(const std::string& path) {
  maybe_fail(Op::read_file, path);
  return inner_.read_file(path);
}

std::vector<std::string> FaultInjectingFileSystem::list_directory(const std::string& path) {
  maybe_fail(Op::list_directory, path);
  return inner_.list_directory(path);
}

bool FaultInjectingFileSystem::exists(const std::string& path) {
  maybe_fail(Op::exists, path);
  return inner_.exists(path);
}

void FaultInjectingFileSystem::apply_power_loss(const std::string& path, Durable& durable,
                                                const PowerLoss& how,
                                                std::uint64_t& random_state) {
  const std::vector<std::byte> current = inner_.read_file(path);
  const std::vector<std::byte>& synced = durable.synced;
  const std::size_t size = std::max(current.size(), synced.size());
  std::vector<std::byte> result = synced;
  result.resize(size);  // zeros past the synced end, as growth without writes reads
  const auto draw = [&] {
    return how.unsynced == Unsynced::mixed ? static_cast<Unsynced>(next_random(random_state) % 3)
                                           : how.unsynced;
  };
  // The size is metadata: it reaches the disk unless the fate is drop.
  std::size_t result_size = draw() == Unsynced::drop ? synced.size() : current.size();
  const std::size_t block = std::max<std::size_t>(how.block_bytes, 1);
  for (std::size_t start = 0; start < size; start += block) {
    const std::size_t end = std::min(size, start + block);
    // Garbage starts at the first changed byte of the block: a torn write
    // garbles what was being written, not the synced bytes before it.
    const std::size_t first_changed = first_difference(current, synced, start, end);
    if (first_changed == end) continue;
    const Unsynced fate = draw();
    if (fate == Unsynced::drop) continue;
    for (std::size_t i = start; i < end; ++i) {
      if (fate == Unsynced::keep) {
        result[i] = byte_at(current, i);
      } else if (i >= first_changed) {
        result[i] = static_cast<std::byte>(next_random(random_state));
      }
    }
    result_size = std::max(result_size, std::min(end, current.size()));
  }
  result.resize(result_size);
  File file = inner_.open(path, OpenMode::existing);
  inner_.truncate(file, result.size());
  inner_.write(file, 0, result);
  inner_.close(file);
}

std::string FaultInjectingFileSystem::boot_id() {
  return inner_.boot_id() + "/" + std::to_string(power_losses_);
}

void FaultInjectingFileSystem::power_loss(const PowerLoss& how) {
  ++power_losses_;
  std::uint64_t random_state = how.seed == 0 ? 0x9E3779B97F4A7C15ULL : how.seed;
  for (auto it = files_.begin(); it != files_.end();) {
    if (!inner_.exists(it->first)) {
      it = files_.erase(it);
      continue;
    }
    if (!it->second.directory_synced) {
      inner_.unlink(it->first);
      it = files_.erase(it);
      continue;
    }
    apply_power_loss(it->first, it->second, how, random_state);
    it->second.synced = inner_.read_file(it->first);
    ++it;
  }
  restore_removed();
  cut_at_ = 0;
}

}  // namespace rill::log
