// FileSystem: the one door through which the durable log touches files.
//
// Every file operation of src/log/ goes through this small interface, so a
// test can put FaultInjectingFileSystem (tests/support/, never installed) in
// front of the real PosixFileSystem and make any call fail, or simulate a
// power loss. The interface is not on the append hot path: appends write
// into a mapping returned by map(), with plain stores, and call nothing here
// until they sync.
//
// Errors: every call that can fail throws rill::Error(ErrorCode::io) whose
// message names the operation, the path and strerror(errno). close() and
// unmap() never throw (they run in destructors).
//
// Thread-safety: PosixFileSystem is stateless and may be shared by threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rill::log {

// An open file: its descriptor and the path it was opened with (for messages).
struct File {
  int fd = -1;
  std::string path;

  [[nodiscard]] bool is_open() const noexcept { return fd >= 0; }
};

enum class OpenMode {
  existing,        // the file must exist
  create_new,      // the file must not exist; it is created empty
  create_or_open,  // created empty if missing
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Opens `path` for reading and writing.
  [[nodiscard]] virtual File open(const std::string& path, OpenMode mode) = 0;
  // Closes `file` (no-op when not open) and marks it closed.
  virtual void close(File& file) noexcept = 0;
  // The file's size in bytes.
  [[nodiscard]] virtual std::uint64_t file_size(const File& file) = 0;
  // Reserves disk blocks so that the file is at least `size` bytes
  // (posix_fallocate): ENOSPC surfaces here, not as SIGBUS in a mapped write.
  virtual void allocate(const File& file, std::uint64_t size) = 0;
  // Sets the file's size (ftruncate). Never used to shrink a mapped file.
  virtual void truncate(const File& file, std::uint64_t size) = 0;
  // Maps the first `size` bytes shared, read-write. The file must be at
  // least that long. The mapping outlives close() and unlink().
  [[nodiscard]] virtual std::byte* map(const File& file, std::size_t size) = 0;
  virtual void unmap(std::byte* mapping, std::size_t size) noexcept = 0;
  // Makes bytes [offset, offset + length) of the file durable: msync
  // (MS_SYNC) of that range of `mapping` when not null, which on Linux is
  // fdatasync of the range; elsewhere, or without a mapping, fdatasync. A
  // failure means the bytes may be lost even though they are still readable.
  virtual void sync(const File& file, std::byte* mapping, std::size_t offset,
                    std::size_t length) = 0;
  // Writes all of `bytes` at `offset` (pwrite, repeated on short writes).
  virtual void write(const File& file, std::uint64_t offset, std::span<const std::byte> bytes) = 0;

  virtual void rename(const std::string& from, const std::string& to) = 0;
  virtual void unlink(const std::string& path) = 0;
  // Creates the directory (and parents); no error when it exists.
  virtual void create_directories(const std::string& path) = 0;
  // fsync of a directory: makes creations, renames and unlinks in it durable.
  virtual void sync_directory(const std::string& path) = 0;
  // The whole content of a (small) file.
  [[nodiscard]] virtual std::vector<std::byte> read_file(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted, without . and ..
  [[nodiscard]] virtual std::vector<std::string> list_directory(const std::string& path) = 0;
  [[nodiscard]] virtual bool exists(const std::string& path) = 0;
  // Names the current boot of the machine: it changes when the machine
  // restarts (a power loss or a kernel crash) and not otherwise. Empty when
  // unknown (then no restart is ever assumed). See recovery_point.hpp.
  [[nodiscard]] virtual std::string boot_id() { return {}; }
};

// The real file system (POSIX calls).
class PosixFileSystem final : public FileSystem {
 public:
  [[nodiscard]] File open(const std::string& path, OpenMode mode) override;
  void close(File& file) noexcept override;
  [[nodiscard]] std::uint64_t file_size(const File& file) override;
  void allocate(const File& file, std::uint64_t size) override;
  void truncate(const File& file, std::uint64_t size) override;
  [[nodiscard]] std::byte* map(const File& file, std::size_t size) override;
  void unmap(std::byte* mapping, std::size_t size) noexcept override;
  void sync(const File& file, std::byte* mapping, std::size_t offset, std::size_t length) override;
  void write(const File& file, std::uint64_t offset, std::span<const std::byte> bytes) override;
  void rename(const std::string& from, const std::string& to) override;
  void unlink(const std::string& path) override;
  void create_directories(const std::string& path) override;
  void sync_directory(const std::string& path) override;
  [[nodiscard]] std::vector<std::byte> read_file(const std::string& path) override;
  [[nodiscard]] std::vector<std::string> list_directory(const std::string& path) override;
  [[nodiscard]] bool exists(const std::string& path) override;
  // /proc/sys/kernel/random/boot_id on Linux, read once.
  [[nodiscard]] std::string boot_id() override;
};

// A process-wide PosixFileSystem.
[[nodiscard]] FileSystem& default_file_system() noexcept;

// "<dir>/<name>" (no normalisation).
[[nodiscard]] std::string join_path(const std::string& dir, const std::string& name);
// The directory part of a path ("." when there is none).
[[nodiscard]] std::string parent_path(const std::string& path);

// Replaces "<dir>/<name>" with `bytes` as one step: writes them to
// "<dir>/<temp_name>" (replacing a leftover), syncs it, renames it over
// `name` and syncs the directory, so a crash or a power loss leaves the old
// file or the new one, never a mix. With durable == false both syncs are
// skipped: the rename still protects against a process crash. Throws
// Error(io).
void replace_file(FileSystem& fs, const std::string& dir, const std::string& temp_name,
                  const std::string& name, std::span<const std::byte> bytes, bool durable = true);

}  // namespace rill::log
