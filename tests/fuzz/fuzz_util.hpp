// Small pieces shared by the fuzz targets: an invariant check that traps
// (so that libFuzzer and the replay driver both stop on it), a byte reader
// that splits one input into fields, and a scratch directory per process
// for the targets that put their input on disk.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace rill::fuzz {

// A broken invariant: trap where it happened, with the stack intact.
inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Takes fields off the front of the input; past the end it yields zeros and
// empty spans, so every input is usable.
class InputReader {
 public:
  InputReader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

  [[nodiscard]] std::uint8_t byte() noexcept { return at_ < size_ ? data_[at_++] : 0; }
  [[nodiscard]] std::uint16_t u16() noexcept {
    const std::uint16_t low = byte();
    return static_cast<std::uint16_t>(low | (byte() << 8));
  }
  // The next `n` bytes, or fewer at the end.
  [[nodiscard]] std::span<const std::uint8_t> take(std::size_t n) noexcept {
    n = std::min(n, size_ - at_);
    std::span<const std::uint8_t> out(data_ + at_, n);
    at_ += n;
    return out;
  }
  [[nodiscard]] std::span<const std::uint8_t> rest() noexcept { return take(size_ - at_); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

// A directory under the system temp directory, unique to this process,
// removed when the process exits normally.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view prefix)
      : path_(std::filesystem::temp_directory_path() /
              (std::string(prefix) + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // An empty folder `name` inside the scratch directory (emptied if it exists).
  [[nodiscard]] std::string fresh(const std::string& name) const {
    const std::filesystem::path dir = path_ / name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
  }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  check(static_cast<bool>(out));
}

}  // namespace rill::fuzz
