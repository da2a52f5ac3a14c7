// PosixFileSystem: the FileSystem interface on POSIX calls (file_system.hpp).
#include "log/file_system.hpp"

#include <cstdio>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "rill/error.hpp"

namespace rill::log {

namespace {

// Throws the io Error for `operation` on `path` with the current errno.
[[noreturn]] void throw_errno(const char* operation, const std::string& path, int error) {
  throw Error(ErrorCode::io, fmt::format("{} \"{}\": {} (check the disk, its free space and the "
                                         "directory's permissions)",
                                         operation, path, std::strerror(error)));
}

[[noreturn]] void throw_errno(const char* operation, const std::string& path) {
  throw_errno(operation, path, errno);
}

// Retries a call interrupted by a signal.
template <typename Call>
auto retry_eintr(Call call) {
  for (;;) {
    auto result = call();
    if (result >= 0 || errno != EINTR) return result;
  }
}

// A descriptor closed on scope exit.
struct ScopedFd {
  int fd;
  ~ScopedFd() {
    if (fd >= 0) ::close(fd);
  }
};

constexpr std::size_t page_size() noexcept { return 4096; }

}  // namespace

File PosixFileSystem::open(const std::string& path, OpenMode mode) {
  int flags = O_RDWR | O_CLOEXEC;
  if (mode == OpenMode::create_new) flags |= O_CREAT | O_EXCL;
  if (mode == OpenMode::create_or_open) flags |= O_CREAT;
  const int fd = retry_eintr([&] { return ::open(path.c_str(), flags, 0644); });
  if (fd < 0) throw_errno("open", path);
  return File{fd, path};
}

void PosixFileSystem::close(File& file) noexcept {
  if (file.fd >= 0) ::close(file.fd);
  file.fd = -1;
}

std::uint64_t PosixFileSystem::file_size(const File& file) {
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) throw_errno("stat", file.path);
  return static_cast<std::uint64_t>(st.st_size);
}

void PosixFileSystem::allocate(const File& file, std::uint64_t size) {
  // posix_fallocate returns the error instead of setting errno.
  int error = 0;
  do {
    error = ::posix_fallocate(file.fd, 0, static_cast<off_t>(size));
  } while (error == EINTR);
  if (error != 0) throw_errno("allocate", file.path, error);
}

void PosixFileSystem::truncate(const File& file, std::uint64_t size) {
  if (retry_eintr([&] { return ::ftruncate(file.fd, static_cast<off_t>(size)); }) != 0) {
    throw_errno("truncate", file.path);
  }
}

std::byte* PosixFileSystem::map(const File& file, std::size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, 0);
  if (p == MAP_FAILED) throw_errno("mmap", file.path);
  return static_cast<std::byte*>(p);
}

void PosixFileSystem::unmap(std::byte* mapping, std::size_t size) noexcept {
  if (mapping != nullptr) ::munmap(mapping, size);
}

void PosixFileSystem::sync(const File& file, std::byte* mapping, std::size_t offset,
                           std::size_t length) {
  if (mapping != nullptr && length > 0) {
    // msync wants a page-aligned start.
    const std::size_t start = offset & ~(page_size() - 1);
    if (::msync(mapping + start, offset + length - start, MS_SYNC) != 0) {
      throw_errno("msync", file.path);
    }
#ifdef __linux__
    // On Linux msync(MS_SYNC) is fdatasync of the range (vfs_fsync_range
    // with datasync set: the data, and the metadata needed to read it back,
    // such as preallocated extents becoming written). A second fdatasync
    // would only add a second device cache flush.
    return;
#endif
  }
  if (retry_eintr([&] { return ::fdatasync(file.fd); }) != 0) throw_errno("fdatasync", file.path);
}

std::string PosixFileSystem::boot_id() {
  static const std::string id = [] {
    std::string text;
    if (std::FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
      char buffer[64] = {};
      if (std::fgets(buffer, sizeof buffer, f) != nullptr) text = buffer;
      std::fclose(f);
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }();
  return id;
}

void PosixFileSystem::write(const File& file, std::uint64_t offset,
                            std::span<const std::byte> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = retry_eintr([&] {
      return ::pwrite(file.fd, bytes.data() + done, bytes.size() - done,
                      static_cast<off_t>(offset + done));
    });
    if (n < 0) throw_errno("write", file.path);
    if (n == 0) throw_errno("write", file.path, ENOSPC);
    done += static_cast<std::size_t>(n);
  }
}

void PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("rename", from + "\" to \"" + to);
}

void PosixFileSystem::unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) throw_errno("unlink", path);
}

void PosixFileSystem::create_directories(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) throw_errno("create directory", path, error.value());
}

void PosixFileSystem::sync_directory(const std::string& path) {
  const int fd = retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
  if (fd < 0) throw_errno("open directory", path);
  ScopedFd guard{fd};
  if (retry_eintr([&] { return ::fsync(fd); }) != 0) throw_errno("fsync directory", path);
}

std::vector<std::byte> PosixFileSystem::read_file(const std::string& path) {
  const int fd = retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (fd < 0) throw_errno("open", path);
  ScopedFd guard{fd};
  std::vector<std::byte> content;
  std::byte buffer[16384];
  for (;;) {
    const ssize_t n = retry_eintr([&] { return ::read(fd, buffer, sizeof buffer); });
    if (n < 0) throw_errno("read", path);
    if (n == 0) break;
    content.insert(content.end(), buffer, buffer + n);
  }
  return content;
}

std::vector<std::string> PosixFileSystem::list_directory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) throw_errno("list directory", path);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int error = errno;
  ::closedir(dir);
  if (error != 0) throw_errno("list directory", path, error);
  std::sort(names.begin(), names.end());
  return names;
}

bool PosixFileSystem::exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  throw_errno("stat", path);
}

FileSystem& default_file_system() noexcept {
  static PosixFileSystem instance;
  return instance;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

void replace_file(FileSystem& fs, const std::string& dir, const std::string& temp_name,
                  const std::string& name, std::span<const std::byte> bytes, bool durable) {
  const std::string temp = join_path(dir, temp_name);
  File file = fs.open(temp, OpenMode::create_or_open);
  try {
    fs.truncate(file, 0);
    fs.write(file, 0, bytes);
    if (durable) fs.sync(file, nullptr, 0, bytes.size());
  } catch (...) {
    fs.close(file);
    throw;
  }
  fs.close(file);
  fs.rename(temp, join_path(dir, name));
  if (durable) fs.sync_directory(dir);
}

std::string parent_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace rill::log
