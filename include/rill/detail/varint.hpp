// Varints as the record codec writes them: unsigned LEB128 (7 bits a byte,
// low group first, high bit = more) and ZigZag for signed values, the same
// encoding as Kafka's record format and Protocol Buffers.
//
// Decoding is bounds-checked and never reads past `end`; it fails on a varint
// that is cut short or longer than 10 bytes. The byte-level spec is in
// docs/log_format.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rill::detail {

inline constexpr std::size_t kMaxVarintBytes = 10;

constexpr std::uint64_t zigzag_encode(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

constexpr std::int64_t zigzag_decode(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Number of bytes write_varint(v) produces.
constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes `v` at `out` (which must have kMaxVarintBytes free) and returns the
// byte after it.
inline std::byte* write_varint(std::byte* out, std::uint64_t v) noexcept {
  while (v >= 0x80) {
    *out++ = static_cast<std::byte>(static_cast<std::uint8_t>(v) | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<std::byte>(v);
  return out;
}

inline std::byte* write_varlong(std::byte* out, std::int64_t v) noexcept {
  return write_varint(out, zigzag_encode(v));
}

// Reads a varint from [p, end) into `v`. Returns the byte after it, or nullptr
// when the bytes end first or the varint is longer than kMaxVarintBytes.
inline const std::byte* read_varint(const std::byte* p, const std::byte* end,
                                    std::uint64_t& v) noexcept {
  std::uint64_t result = 0;
  for (unsigned shift = 0; shift < 64 && p != end; shift += 7) {
    const auto b = static_cast<std::uint8_t>(*p++);
    result |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      v = result;
      return p;
    }
  }
  return nullptr;
}

inline const std::byte* read_varlong(const std::byte* p, const std::byte* end,
                                     std::int64_t& v) noexcept {
  std::uint64_t u = 0;
  p = read_varint(p, end, u);
  if (p != nullptr) v = zigzag_decode(u);
  return p;
}

}  // namespace rill::detail
