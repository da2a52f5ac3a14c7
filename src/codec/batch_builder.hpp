// BatchBuilder: encodes records into one batch (format in batch_format.hpp and
// docs/log_format.md).
//
// A builder owns a buffer of max_batch_bytes, allocated once at construction;
// appending never allocates. Typical use, once per batch:
//
//   builder.reset();
//   while (more && builder.try_append(record, now)) ...;
//   std::span<std::byte> batch = builder.finish(producer);
//   set_base_offset(batch, next_offset);   // when the batch is appended
//
// Records get dense offset deltas 0, 1, 2 ... in append order. Timestamps may
// go backwards: each is stored as a delta from the first record's (with
// wrapping arithmetic, so every int64 round-trips).
//
// Thread-safety: none; one builder per thread. Moving is cheap; copying copies
// the buffer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/batch_format.hpp"
#include "rill/detail/varint.hpp"
#include "rill/error.hpp"
#include "rill/record.hpp"

namespace rill::codec {

class BatchBuilder {
 public:
  // Throws rill::Error(invalid_argument) unless
  // kBatchHeaderSize + kMinRecordBytes <= max_batch_bytes <= kMaxBatchBytes.
  // Allocates max_batch_bytes once.
  explicit BatchBuilder(std::size_t max_batch_bytes) : capacity_(max_batch_bytes) {
    if (max_batch_bytes < kBatchHeaderSize + kMinRecordBytes || max_batch_bytes > kMaxBatchBytes) {
      throw Error(ErrorCode::invalid_argument,
                  "max batch size " + std::to_string(max_batch_bytes) + " bytes: use " +
                      std::to_string(kBatchHeaderSize + kMinRecordBytes) + " to " +
                      std::to_string(kMaxBatchBytes) + " bytes");
    }
    buffer_.resize(max_batch_bytes);
  }

  // Forgets the records appended so far; the buffer is kept.
  void reset() noexcept {
    size_ = kBatchHeaderSize;
    record_count_ = 0;
    first_timestamp_ = kNoTimestamp;
    max_timestamp_ = kNoTimestamp;
  }

  // Appends `r` (its key, value and headers; r.timestamp and r.partition are
  // ignored) with `timestamp`. Returns false, leaving the batch unchanged, if
  // the record would make the batch exceed max_batch_bytes; a record always
  // fits an empty builder when record_size_bound(r) + kBatchHeaderSize <= max.
  [[nodiscard]] bool try_append(const Record& r, std::int64_t timestamp) noexcept {
    const bool first = record_count_ == 0;
    const std::int64_t timestamp_delta =
        wrapping_sub(timestamp, first ? timestamp : first_timestamp_);
    const std::size_t body = body_size(r, timestamp_delta, record_count_);
    const std::size_t total = varint_size_signed(static_cast<std::int64_t>(body)) + body;
    if (total > capacity_ - size_) return false;

    std::byte* out = buffer_.data() + size_;
    out = detail::write_varlong(out, static_cast<std::int64_t>(body));
    *out++ = std::byte{0};  // record attributes: unused, zero
    out = detail::write_varlong(out, timestamp_delta);
    out = detail::write_varlong(out, static_cast<std::int64_t>(record_count_));
    out = write_nullable(out, r.key);
    out = write_nullable(out, r.value);
    out = detail::write_varlong(out, static_cast<std::int64_t>(r.headers.size()));
    for (const Header& h : r.headers) {
      out = write_bytes(out, h.key);
      out = write_bytes(out, h.value);
    }
    size_ += total;
    if (first) {
      first_timestamp_ = timestamp;
      max_timestamp_ = timestamp;
    } else {
      max_timestamp_ = std::max(max_timestamp_, timestamp);
    }
    ++record_count_;
    return true;
  }

  // An upper bound of the bytes try_append adds for `r` (whatever its
  // timestamp and position in the batch).
  [[nodiscard]] static std::size_t record_size_bound(const Record& r) noexcept {
    constexpr std::size_t kInt32Varint = 5;
    constexpr std::size_t kInt64Varint = detail::kMaxVarintBytes;
    // length + attributes + timestamp delta + offset delta + key + value + header count
    std::size_t n =
        kInt32Varint + 1 + kInt64Varint + kInt32Varint + kInt32Varint + kInt32Varint + kInt32Varint;
    n += r.key ? r.key->size() : 0;
    n += r.value ? r.value->size() : 0;
    for (const Header& h : r.headers) n += 2 * kInt32Varint + h.key.size() + h.value.size();
    return n;
  }

  [[nodiscard]] std::uint32_t record_count() const noexcept { return record_count_; }
  // Bytes of the batch so far, header included.
  [[nodiscard]] std::size_t size_bytes() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return record_count_ == 0; }
  [[nodiscard]] std::size_t max_batch_bytes() const noexcept { return capacity_; }
  // The first record's timestamp, or kNoTimestamp when empty.
  [[nodiscard]] std::int64_t first_timestamp() const noexcept { return first_timestamp_; }
  [[nodiscard]] std::int64_t max_timestamp() const noexcept { return max_timestamp_; }

  // Completes the header (length, count, timestamps, producer fields,
  // checksum) and returns the whole batch, valid until the next reset() or
  // try_append(). base_offset is 0 until set_base_offset(). A batch holds at
  // least one record: on an empty builder this returns an empty span.
  // Appending after finish() is allowed; finish() then rewrites the header.
  [[nodiscard]] std::span<std::byte> finish(const ProducerFields& p = {}) noexcept {
    if (record_count_ == 0) return {};
    BatchHeader h{};
    h.base_offset = 0;
    h.batch_length = static_cast<std::uint32_t>(size_);
    h.magic = kBatchMagic;
    h.attributes = 0;
    h.last_offset_delta = static_cast<std::int32_t>(record_count_ - 1);
    h.record_count = record_count_;
    h.first_timestamp = first_timestamp_;
    h.max_timestamp = max_timestamp_;
    h.producer_id = p.producer_id;
    h.producer_epoch = p.producer_epoch;
    h.base_sequence = p.base_sequence;
    std::memcpy(buffer_.data(), &h, sizeof h);
    const std::span<std::byte> batch(buffer_.data(), size_);
    store_field(batch.data(), offsetof(BatchHeader, checksum), compute_checksum(batch));
    return batch;
  }

 private:
  static constexpr std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
  }

  // Bytes of the zigzag varint of `v`, with the common short sizes first.
  static constexpr std::size_t varint_size_signed(std::int64_t v) noexcept {
    const std::uint64_t u = detail::zigzag_encode(v);
    if (u < (std::uint64_t{1} << 7)) return 1;
    if (u < (std::uint64_t{1} << 14)) return 2;
    return detail::varint_size(u);
  }

  static constexpr std::size_t bytes_size(std::size_t n) noexcept {
    return varint_size_signed(static_cast<std::int64_t>(n)) + n;
  }

  // The exact size of a record's body (what its length prefix counts).
  static std::size_t body_size(const Record& r, std::int64_t timestamp_delta,
                               std::uint32_t offset_delta) noexcept {
    std::size_t n = 1 + varint_size_signed(timestamp_delta) + varint_size_signed(offset_delta);
    n += r.key ? bytes_size(r.key->size()) : 1;
    n += r.value ? bytes_size(r.value->size()) : 1;
    n += varint_size_signed(static_cast<std::int64_t>(r.headers.size()));
    for (const Header& h : r.headers) n += bytes_size(h.key.size()) + bytes_size(h.value.size());
    return n;
  }

  static std::byte* write_bytes(std::byte* out, std::string_view s) noexcept {
    out = detail::write_varlong(out, static_cast<std::int64_t>(s.size()));
    if (!s.empty()) std::memcpy(out, s.data(), s.size());
    return out + s.size();
  }

  static std::byte* write_nullable(std::byte* out,
                                   const std::optional<std::string_view>& s) noexcept {
    if (!s) return detail::write_varlong(out, -1);
    return write_bytes(out, *s);
  }

  std::vector<std::byte> buffer_;
  std::size_t capacity_;
  std::size_t size_ = kBatchHeaderSize;
  std::uint32_t record_count_ = 0;
  std::int64_t first_timestamp_ = kNoTimestamp;
  std::int64_t max_timestamp_ = kNoTimestamp;
};

}  // namespace rill::codec
