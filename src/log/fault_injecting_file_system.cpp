// FaultInjectingFileSystem (fault_injecting_file_system.hpp).
#include "log/fault_injecting_file_system.hpp"

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

}  // namespace

void FaultInjectingFileSystem::fail_call(Op op, std::uint64_t n, Fault fault) {
  if (n == 0) throw Error(ErrorCode::invalid_argument, "fail_call: n counts from 1");
  faults_.push_back(ArmedFault{op, n, fault});
}

const FaultInjectingFileSystem::ArmedFault* FaultInjectingFileSystem::next_fault(Op op) {
  const ArmedFault* due = nullptr;
  for (auto it = faults_.begin(); it != faults_.end();) {
    if (it->op != Op::any && it->op != op) {
      ++it;
      continue;
    }
    if (--it->calls_left == 0 && due == nullptr) {
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
  inner_.sync(file, mapping, offset, length);
  // fdatasync makes every dirty page of the file durable, not only the range.
  files_[file.path].synced = inner_.read_file(file.path);
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
  inner_.rename(from, to);
  Durable moved = std::move(files_[from]);
  files_.erase(from);
  moved.directory_synced = false;  // the new name is durable after a directory sync
  files_[to] = std::move(moved);
}

void FaultInjectingFileSystem::unlink(const std::string& path) {
  maybe_fail(Op::unlink, path);
  inner_.unlink(path);
  files_.erase(path);
}

void FaultInjectingFileSystem::create_directories(const std::string& path) {
  maybe_fail(Op::create_directories, path);
  inner_.create_directories(path);
}

void FaultInjectingFileSystem::sync_directory(const std::string& path) {
  maybe_fail(Op::sync_directory, path);
  inner_.sync_directory(path);
  const std::string dir = strip_slash(path);
  for (auto& [name, durable] : files_) {
    if (strip_slash(parent_path(name)) == dir) durable.directory_synced = true;
  }
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
  std::vector<std::byte> result = durable.synced;
  const std::size_t size = std::max(current.size(), result.size());
  const std::size_t block = std::max<std::size_t>(how.block_bytes, 1);
  for (std::size_t start = 0; start < size; start += block) {
    const std::size_t end = std::min(size, start + block);
    const bool differs =
        end > current.size() || end > result.size() ||
        std::memcmp(current.data() + start, result.data() + start, end - start) != 0;
    if (!differs) continue;
    Unsynced fate = how.unsynced;
    if (fate == Unsynced::mixed) fate = static_cast<Unsynced>(next_random(random_state) % 3);
    if (fate == Unsynced::drop) continue;
    // keep or garbage: the file reaches at least the current size there.
    if (result.size() < std::min(end, current.size())) result.resize(std::min(end, current.size()));
    // Garbage starts at the first changed byte of the block: a torn write
    // garbles what was being written, not the synced bytes before it.
    std::size_t first_changed = start;
    while (first_changed < std::min(end, std::min(current.size(), durable.synced.size())) &&
           current[first_changed] == durable.synced[first_changed]) {
      ++first_changed;
    }
    for (std::size_t i = start; i < std::min(end, result.size()); ++i) {
      if (fate == Unsynced::keep) {
        result[i] = i < current.size() ? current[i] : std::byte{0};
      } else if (i >= first_changed) {
        result[i] = static_cast<std::byte>(next_random(random_state));
      }
    }
  }
  File file = inner_.open(path, OpenMode::existing);
  inner_.truncate(file, result.size());
  inner_.write(file, 0, result);
  inner_.close(file);
}

void FaultInjectingFileSystem::power_loss(const PowerLoss& how) {
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
}

}  // namespace rill::log
