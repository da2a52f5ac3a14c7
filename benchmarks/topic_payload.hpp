// The records of topic.e2e.100B, and the check every consumer runs on them.
//
// Record i has a 16-byte key, "key-" followed by 12 digits of i % kKeys, and
// an 84-byte value: i as 8 little-endian bytes, then 76 bytes of (i * 131) &
// 0xff. The consumer checks the key against i, the first and last filler
// bytes, and per key that records arrive in order with none missing (for one
// key the numbers go k, k + kKeys, k + 2 kKeys ...), which holds whether or
// not a system keeps order across keys.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/core.h>

namespace rill::bench {

inline constexpr std::size_t kKeyBytes = 16;
inline constexpr std::size_t kValueBytes = 84;
inline constexpr std::size_t kRecordBytes = kKeyBytes + kValueBytes;
inline constexpr std::size_t kKeys = 64;

class KeyTable {
 public:
  KeyTable() {
    for (std::size_t k = 0; k < kKeys; ++k) {
      std::array<char, kKeyBytes + 1> text{};
      std::snprintf(text.data(), text.size(), "key-%012zu", k);
      std::memcpy(keys_[k].data(), text.data(), kKeyBytes);
    }
  }
  [[nodiscard]] std::string_view key_of(std::uint64_t seq) const noexcept {
    return {keys_[seq % kKeys].data(), kKeyBytes};
  }

 private:
  std::array<std::array<char, kKeyBytes>, kKeys> keys_{};
};

[[nodiscard]] inline char filler_of(std::uint64_t seq) noexcept {
  return static_cast<char>(static_cast<unsigned char>((seq * 131) & 0xff));
}

// Writes record seq's value into out (kValueBytes).
inline void make_value(std::uint64_t seq, char* out) noexcept {
  std::memcpy(out, &seq, sizeof(seq));
  std::memset(out + sizeof(seq), filler_of(seq), kValueBytes - sizeof(seq));
}

class PayloadCheck {
 public:
  PayloadCheck() {
    for (std::size_t k = 0; k < kKeys; ++k) expected_[k] = k;
  }

  void check(std::string_view key, std::string_view value) {
    ++count_;
    if (!error_.empty()) return;
    if (key.size() != kKeyBytes || value.size() != kValueBytes) {
      error_ = fmt::format("record {}: key {} bytes, value {} bytes", count_, key.size(),
                           value.size());
      return;
    }
    std::uint64_t seq = 0;
    std::memcpy(&seq, value.data(), sizeof(seq));
    const std::size_t k = seq % kKeys;
    if (key != keys_.key_of(seq) || value[sizeof(seq)] != filler_of(seq) ||
        value.back() != filler_of(seq)) {
      error_ = fmt::format("record {} (number {}): wrong key or value bytes", count_, seq);
    } else if (seq != expected_[k]) {
      error_ = fmt::format("key {}: got record {}, expected {}", k, seq, expected_[k]);
    }
    expected_[k] = seq + kKeys;
  }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  KeyTable keys_;
  std::array<std::uint64_t, kKeys> expected_{};
  std::uint64_t count_ = 0;
  std::string error_;
};

}  // namespace rill::bench
