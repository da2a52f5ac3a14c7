// Records: what a producer sends (Record) and what a consumer reads (RecordView).
//
// A Record is a non-owning description of one record to send: the producer
// copies its bytes into a batch before send() returns, so the caller's
// buffers may be reused at once. A RecordView is a zero-copy view of one
// record inside a partition's storage; it stays valid until the next poll()
// of the consumer that returned it (see consumer.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "rill/detail/varint.hpp"

namespace rill {

// Timestamps are milliseconds since the Unix epoch, as in Kafka.
inline constexpr std::int64_t kNoTimestamp = -1;
// A partition chosen by the partitioner rather than by the caller.
inline constexpr std::int32_t kAnyPartition = -1;

// One record header: a key and a value, both byte strings.
struct Header {
  std::string_view key{};
  std::string_view value{};
};

// A record to send. `key` absent means no key (the partitioner then picks a
// partition); `value` absent is a tombstone (meaningful for compacted topics).
struct Record {
  // Every member has an initialiser so that designated initialisers may
  // leave any of them out without -Wmissing-field-initializers noise.
  std::optional<std::string_view> key{};
  std::optional<std::string_view> value{};
  std::span<const Header> headers{};
  std::int64_t timestamp = kNoTimestamp;  // kNoTimestamp: the producer's clock
  std::int32_t partition = kAnyPartition;
};

// Iterates over the headers of a RecordView, decoding them in place.
// The encoded form is that of docs/log_format.md (zigzag varint lengths).
class HeaderIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Header;
  using difference_type = std::ptrdiff_t;
  using pointer = const Header*;
  using reference = const Header&;

  HeaderIterator() = default;
  HeaderIterator(const std::byte* p, const std::byte* end, std::uint32_t remaining) noexcept
      : p_(p), end_(end), remaining_(remaining) {
    advance();
  }

  reference operator*() const noexcept { return current_; }
  pointer operator->() const noexcept { return &current_; }
  HeaderIterator& operator++() noexcept {
    advance();
    return *this;
  }
  void operator++(int) noexcept { advance(); }
  friend bool operator==(const HeaderIterator& a, const HeaderIterator& b) noexcept {
    return a.done_ == b.done_;
  }

 private:
  // Bytes were validated when the batch was read; a malformed header still
  // only ends the iteration, it never reads out of bounds.
  void advance() noexcept {
    if (remaining_ == 0 || p_ == nullptr) {
      done_ = true;
      return;
    }
    --remaining_;
    std::string_view parts[2];
    for (auto& part : parts) {
      std::int64_t len = 0;
      p_ = detail::read_varlong(p_, end_, len);
      if (p_ == nullptr || len > end_ - p_) {
        done_ = true;
        return;
      }
      if (len > 0) {
        part = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(len));
        p_ += len;
      }
    }
    current_ = Header{parts[0], parts[1]};
    done_ = false;
  }

  const std::byte* p_ = nullptr;
  const std::byte* end_ = nullptr;
  std::uint32_t remaining_ = 0;
  bool done_ = true;
  Header current_{};
};

// A range over a record's headers, for range-for.
class HeaderRange {
 public:
  HeaderRange() = default;
  HeaderRange(std::span<const std::byte> encoded, std::uint32_t count) noexcept
      : encoded_(encoded), count_(count) {}
  HeaderIterator begin() const noexcept {
    return HeaderIterator(encoded_.data(), encoded_.data() + encoded_.size(), count_);
  }
  HeaderIterator end() const noexcept { return HeaderIterator(); }
  std::uint32_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

 private:
  std::span<const std::byte> encoded_;
  std::uint32_t count_ = 0;
};

// A record as read from a partition: a cheap, copyable view. Its string_views
// point into the partition's storage and are valid until the next poll() of
// the consumer that returned it; copy what must live longer.
class RecordView {
 public:
  RecordView() = default;
  RecordView(std::string_view topic, std::int32_t partition, std::int64_t offset,
             std::int64_t timestamp, std::optional<std::string_view> key,
             std::optional<std::string_view> value, HeaderRange headers) noexcept
      : topic_(topic), key_(key), value_(value), headers_(headers), offset_(offset),
        timestamp_(timestamp), partition_(partition) {}

  std::string_view topic() const noexcept { return topic_; }
  std::int32_t partition() const noexcept { return partition_; }
  std::int64_t offset() const noexcept { return offset_; }
  std::int64_t timestamp() const noexcept { return timestamp_; }

  bool has_key() const noexcept { return key_.has_value(); }
  // The key, or an empty view when the record has none.
  std::string_view key() const noexcept { return key_.value_or(std::string_view()); }
  // False for a tombstone (a record whose value is null).
  bool has_value() const noexcept { return value_.has_value(); }
  // The value, or an empty view for a tombstone.
  std::string_view value() const noexcept { return value_.value_or(std::string_view()); }
  HeaderRange headers() const noexcept { return headers_; }

 private:
  std::string_view topic_;
  std::optional<std::string_view> key_;
  std::optional<std::string_view> value_;
  HeaderRange headers_;
  std::int64_t offset_ = -1;
  std::int64_t timestamp_ = kNoTimestamp;
  std::int32_t partition_ = -1;
};

}  // namespace rill
