// Reading batches (format in batch_format.hpp and docs/log_format.md).
//
// parse_batch() checks the header of the batch at the start of some bytes and
// its checksum, and returns a BatchView; RecordReader then walks its records.
// Both treat the bytes as untrusted: every length is bounds-checked, nothing
// is read outside the bytes given, and damage is reported as a DecodeError
// with its position, never skipped. Neither allocates or throws.
//
// Fast path for bytes already verified (written by this process, or parsed
// with the checksum before): parse_batch(bytes, false) skips the checksum,
// and BatchView::trusted() skips the header checks too. RecordReader's bounds
// checks stay on; they cost a few compares per field.
//
// Views and decoded records point into the bytes given; they are valid as
// long as those bytes are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "codec/batch_format.hpp"
#include "rill/detail/varint.hpp"
#include "rill/record.hpp"

namespace rill::codec {

// Where and why decoding failed. `position` is a byte offset from the start
// of the bytes given to parse_batch (the batch's first byte).
struct DecodeError {
  std::size_t position = 0;
  const char* reason = "";
};

enum class DecodeStatus {
  ok,
  incomplete,  // parse_batch: the bytes end inside the batch; RecordReader: no more records
  corrupt,     // damaged or not a batch; see the DecodeError
};

// A view of one whole batch, checked by parse_batch (or trusted by the caller).
class BatchView {
 public:
  BatchView() = default;

  // A view of bytes that are known to be one valid batch (exactly
  // batch_length bytes); no check at all.
  [[nodiscard]] static BatchView trusted(std::span<const std::byte> batch) noexcept {
    return BatchView(batch);
  }

  [[nodiscard]] std::int64_t base_offset() const noexcept { return field<std::int64_t>(0); }
  [[nodiscard]] std::int64_t last_offset() const noexcept {
    return wrapping_add(base_offset(), last_offset_delta());
  }
  // The offset after this batch: where the next batch starts.
  [[nodiscard]] std::int64_t next_offset() const noexcept { return wrapping_add(last_offset(), 1); }
  [[nodiscard]] std::int32_t last_offset_delta() const noexcept {
    return field<std::int32_t>(offsetof(BatchHeader, last_offset_delta));
  }
  [[nodiscard]] std::uint32_t record_count() const noexcept {
    return field<std::uint32_t>(offsetof(BatchHeader, record_count));
  }
  [[nodiscard]] std::int64_t first_timestamp() const noexcept {
    return field<std::int64_t>(offsetof(BatchHeader, first_timestamp));
  }
  [[nodiscard]] std::int64_t max_timestamp() const noexcept {
    return field<std::int64_t>(offsetof(BatchHeader, max_timestamp));
  }
  [[nodiscard]] std::uint16_t attributes() const noexcept {
    return field<std::uint16_t>(offsetof(BatchHeader, attributes));
  }
  [[nodiscard]] std::int64_t producer_id() const noexcept {
    return field<std::int64_t>(offsetof(BatchHeader, producer_id));
  }
  [[nodiscard]] std::int16_t producer_epoch() const noexcept {
    return field<std::int16_t>(offsetof(BatchHeader, producer_epoch));
  }
  [[nodiscard]] std::int32_t base_sequence() const noexcept {
    return field<std::int32_t>(offsetof(BatchHeader, base_sequence));
  }
  [[nodiscard]] ProducerFields producer() const noexcept {
    return {producer_id(), producer_epoch(), base_sequence()};
  }
  [[nodiscard]] std::uint64_t checksum() const noexcept {
    return field<std::uint64_t>(offsetof(BatchHeader, checksum));
  }
  // The whole batch, header included (batch_length bytes).
  [[nodiscard]] std::size_t size_bytes() const noexcept { return bytes_.size(); }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_; }
  // The encoded records after the header.
  [[nodiscard]] std::span<const std::byte> records_bytes() const noexcept {
    return bytes_.subspan(kBatchHeaderSize);
  }
  // False for a default-constructed view (and after a failed parse).
  [[nodiscard]] bool valid() const noexcept { return bytes_.size() >= kBatchHeaderSize; }

 private:
  explicit BatchView(std::span<const std::byte> batch) noexcept : bytes_(batch) {}

  // parse_batch rules out overflow; wrapping keeps a trusted view of bad
  // bytes free of undefined behaviour all the same.
  static std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
  }

  template <typename T>
  [[nodiscard]] T field(std::size_t at) const noexcept {
    return load_field<T>(bytes_.data(), at);
  }

  std::span<const std::byte> bytes_;
};

struct ParsedBatch {
  DecodeStatus status = DecodeStatus::incomplete;
  BatchView batch;    // meaningful when status == ok
  DecodeError error;  // meaningful otherwise
};

// Checks the batch at the start of `bytes`, in this order: at least a header
// (else incomplete), magic, reserved bytes and attributes, batch_length
// (>= header + one record, <= kMaxBatchBytes, else corrupt; > bytes.size() is
// incomplete), record count and last offset delta against the length, and
// then, if asked, the checksum. On ok, batch.bytes() is the first
// batch_length bytes of `bytes`; the next batch (if any) follows them.
[[nodiscard]] ParsedBatch parse_batch(std::span<const std::byte> bytes,
                                      bool verify_checksum = true) noexcept;

// Where a walk over damaged bytes can go on: the first position at or after
// `from`, rounded up to kBatchAlignment, where a whole batch of `bytes`
// starts (header and checksum checked) whose base offset is above `above`.
struct WholeBatch {
  std::size_t position = 0;
  std::int64_t base_offset = 0;
};
[[nodiscard]] std::optional<WholeBatch> find_whole_batch(std::span<const std::byte> bytes, std::size_t from,
                                                         std::int64_t above) noexcept;

// One record decoded from a batch. Its views point into the batch bytes.
struct DecodedRecord {
  std::int64_t offset = -1;
  std::int64_t timestamp = kNoTimestamp;
  std::optional<std::string_view> key;         // nullopt: no key
  std::optional<std::string_view> value;       // nullopt: a tombstone
  std::span<const std::byte> headers_encoded;  // header_count headers, already checked
  std::uint32_t header_count = 0;

  [[nodiscard]] HeaderRange headers() const noexcept {
    return HeaderRange(headers_encoded, header_count);
  }
};

// The RecordView a consumer sees for `r` read from `topic`/`partition`.
[[nodiscard]] inline RecordView to_record_view(const DecodedRecord& r, std::string_view topic,
                                               std::int32_t partition) noexcept {
  return RecordView(topic, partition, r.offset, r.timestamp, r.key, r.value, r.headers());
}

// Walks the records of a batch in order. Every record is checked completely
// before next() returns it: each length against the bytes left, the record's
// declared length against what it contains, its offset delta (increasing, at
// most last_offset_delta), every header; so headers() never stops early.
class RecordReader {
 public:
  explicit RecordReader(const BatchView& batch) noexcept
      : batch_(batch.bytes().data()),
        cursor_(batch.valid() ? batch_ + kBatchHeaderSize : batch_),
        end_(batch_ + batch.size_bytes()),
        base_offset_(batch.valid() ? batch.base_offset() : 0),
        first_timestamp_(batch.valid() ? batch.first_timestamp() : 0),
        last_offset_delta_(batch.valid() ? batch.last_offset_delta() : -1),
        records_left_(batch.valid() ? batch.record_count() : 0) {}

  // ok: `out` holds the next record. incomplete: no more records (the batch
  // ended exactly after record_count records). corrupt: see error(); every
  // later call returns corrupt too.
  [[nodiscard]] DecodeStatus next(DecodedRecord& out) noexcept;

  [[nodiscard]] const DecodeError& error() const noexcept { return error_; }
  [[nodiscard]] std::uint32_t records_left() const noexcept { return records_left_; }

 private:
  // Why a length-prefixed field is rejected.
  struct FieldReasons {
    const char* negative;
    const char* past_end;
  };

  [[gnu::cold, gnu::noinline]] DecodeStatus fail(const std::byte* at, const char* reason) noexcept {
    error_ = DecodeError{static_cast<std::size_t>(at - batch_), reason};
    failed_ = true;
    return DecodeStatus::corrupt;
  }
  DecodeStatus end_of_records() noexcept;
  // Inlined into next(): one frame for the whole record keeps the hot loop short.
  [[gnu::always_inline]] DecodeStatus read_record(const std::byte* p, const std::byte* record_end,
                                                  DecodedRecord& out) noexcept;
  // These return the byte after what they read, or nullptr after fail().
  [[gnu::always_inline]] const std::byte* read_headers(const std::byte* p,
                                                       const std::byte* record_end,
                                                       DecodedRecord& out) noexcept;
  [[gnu::always_inline]] const std::byte* read_bytes(const std::byte* p, const std::byte* end,
                                                     bool nullable,
                                                     std::optional<std::string_view>& out,
                                                     const FieldReasons& why) noexcept;

  const std::byte* batch_;
  const std::byte* cursor_;
  const std::byte* end_;
  std::int64_t base_offset_;
  std::int64_t first_timestamp_;
  std::int32_t last_offset_delta_;
  std::int64_t previous_offset_delta_ = -1;
  std::uint32_t records_left_;
  bool failed_ = false;
  DecodeError error_;
};

// ---------------------------------------------------------------------------
// Implementation.

namespace detail_reader {

inline constexpr const char* kMalformedVarint =
    "malformed varint (cut short or longer than 10 bytes)";

// Reads a zigzag varint in [p, end): returns the byte after it, or nullptr
// when it is cut short or longer than 10 bytes. The common one- and two-byte
// varints take a short path; the rest goes through detail::read_varlong.
[[gnu::always_inline]] inline const std::byte* read_zigzag(const std::byte* p, const std::byte* end,
                                                           std::int64_t& v) noexcept {
  if (p == end) return nullptr;
  const auto b0 = static_cast<std::uint8_t>(p[0]);
  if (b0 < 0x80) [[likely]] {
    v = detail::zigzag_decode(b0);
    return p + 1;
  }
  if (end - p >= 2 && static_cast<std::uint8_t>(p[1]) < 0x80) {
    v = detail::zigzag_decode((b0 & 0x7fu) | (std::uint64_t{static_cast<std::uint8_t>(p[1])} << 7));
    return p + 2;
  }
  return detail::read_varlong(p, end, v);
}

inline ParsedBatch corrupt_at(std::size_t position, const char* reason) noexcept {
  return ParsedBatch{DecodeStatus::corrupt, BatchView(), DecodeError{position, reason}};
}

inline bool all_zero(const std::byte* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != std::byte{0}) return false;
  }
  return true;
}

// The checks that need only the header: status ok when it is sane.
inline ParsedBatch check_header(const std::byte* p) noexcept {
  if (load_field<std::uint8_t>(p, offsetof(BatchHeader, magic)) != kBatchMagic) {
    return corrupt_at(offsetof(BatchHeader, magic),
                      all_zero(p, kBatchHeaderSize)
                          ? "zero bytes where a batch header should be"
                          : "bad magic (not a batch, or another version)");
  }
  if (load_field<std::uint8_t>(p, offsetof(BatchHeader, reserved0)) != 0) {
    return corrupt_at(offsetof(BatchHeader, reserved0), "reserved header byte is not zero");
  }
  const auto attributes = load_field<std::uint16_t>(p, offsetof(BatchHeader, attributes));
  if ((attributes & ~kAttrKnownMask) != 0) {
    return corrupt_at(offsetof(BatchHeader, attributes), "unknown attribute bits");
  }
  if ((attributes & kAttrCompressionMask) != 0) {
    return corrupt_at(offsetof(BatchHeader, attributes), "compressed batches are not supported");
  }
  if (load_field<std::uint16_t>(p, offsetof(BatchHeader, reserved1)) != 0) {
    return corrupt_at(offsetof(BatchHeader, reserved1), "reserved header bytes are not zero");
  }
  const auto length = load_field<std::uint32_t>(p, offsetof(BatchHeader, batch_length));
  if (length < kBatchHeaderSize + kMinRecordBytes) {
    return corrupt_at(offsetof(BatchHeader, batch_length), "batch length too small");
  }
  if (length > kMaxBatchBytes) {
    return corrupt_at(offsetof(BatchHeader, batch_length), "batch length too large");
  }
  const auto count = load_field<std::uint32_t>(p, offsetof(BatchHeader, record_count));
  if (count == 0 || count > (length - kBatchHeaderSize) / kMinRecordBytes) {
    return corrupt_at(offsetof(BatchHeader, record_count), "record count does not fit the length");
  }
  const auto last_delta = load_field<std::int32_t>(p, offsetof(BatchHeader, last_offset_delta));
  if (last_delta < static_cast<std::int64_t>(count) - 1) {
    return corrupt_at(offsetof(BatchHeader, last_offset_delta), "last offset delta below count");
  }
  const auto base = load_field<std::int64_t>(p, offsetof(BatchHeader, base_offset));
  if (base < 0 || base >= std::numeric_limits<std::int64_t>::max() - last_delta) {
    return corrupt_at(offsetof(BatchHeader, base_offset), "base offset out of range");
  }
  return ParsedBatch{DecodeStatus::ok, BatchView(), DecodeError()};
}

}  // namespace detail_reader

inline ParsedBatch parse_batch(std::span<const std::byte> bytes, bool verify_checksum) noexcept {
  if (bytes.size() < kBatchHeaderSize) {
    return ParsedBatch{DecodeStatus::incomplete, BatchView(),
                       DecodeError{bytes.size(), "batch header cut short"}};
  }
  ParsedBatch header = detail_reader::check_header(bytes.data());
  if (header.status != DecodeStatus::ok) return header;
  const auto length = load_field<std::uint32_t>(bytes.data(), offsetof(BatchHeader, batch_length));
  if (length > bytes.size()) {
    return ParsedBatch{DecodeStatus::incomplete, BatchView(),
                       DecodeError{bytes.size(), "batch cut short"}};
  }
  const auto batch = bytes.first(length);
  if (verify_checksum &&
      compute_checksum(batch) !=
          load_field<std::uint64_t>(batch.data(), offsetof(BatchHeader, checksum))) {
    return detail_reader::corrupt_at(offsetof(BatchHeader, checksum), "checksum mismatch");
  }
  return ParsedBatch{DecodeStatus::ok, BatchView::trusted(batch), DecodeError()};
}

inline std::optional<WholeBatch> find_whole_batch(std::span<const std::byte> bytes, std::size_t from,
                                                  std::int64_t above) noexcept {
  for (std::size_t at = padded_batch_size(from); at + kBatchHeaderSize <= bytes.size(); at += kBatchAlignment) {
    // Cheap filter before the full parse: the magic byte.
    if (bytes[at + offsetof(BatchHeader, magic)] != std::byte{kBatchMagic}) continue;
    const ParsedBatch parsed = parse_batch(bytes.subspan(at), true);
    if (parsed.status == DecodeStatus::ok && parsed.batch.base_offset() > above) {
      return WholeBatch{at, parsed.batch.base_offset()};
    }
  }
  return std::nullopt;
}

inline DecodeStatus RecordReader::next(DecodedRecord& out) noexcept {
  if (records_left_ == 0 || failed_) [[unlikely]] {
    return end_of_records();
  }
  const std::byte* const start = cursor_;
  std::int64_t length = 0;
  const std::byte* const body = detail_reader::read_zigzag(start, end_, length);
  if (body == nullptr) {
    return fail(start, start == end_ ? "fewer records than the record count"
                                     : detail_reader::kMalformedVarint);
  }
  if (length < kMinRecordBodyBytes) return fail(start, "record length too small");
  if (length > end_ - body) return fail(start, "record length past the end of the batch");
  const DecodeStatus status = read_record(body, body + length, out);
  if (status == DecodeStatus::ok) {
    cursor_ = body + length;
    --records_left_;
  }
  return status;
}

inline DecodeStatus RecordReader::end_of_records() noexcept {
  if (failed_) return DecodeStatus::corrupt;
  if (cursor_ != end_) return fail(cursor_, "bytes after the last record");
  return DecodeStatus::incomplete;
}

inline DecodeStatus RecordReader::read_record(const std::byte* p, const std::byte* record_end,
                                              DecodedRecord& out) noexcept {
  static constexpr FieldReasons kKey{"key length is negative (not -1)",
                                     "key length past the end of the record"};
  static constexpr FieldReasons kValue{"value length is negative (not -1)",
                                       "value length past the end of the record"};
  if (*p != std::byte{0}) return fail(p, "record attributes are not zero");
  ++p;
  std::int64_t timestamp_delta = 0;
  const std::byte* q = detail_reader::read_zigzag(p, record_end, timestamp_delta);
  if (q == nullptr) return fail(p, detail_reader::kMalformedVarint);
  p = q;
  std::int64_t offset_delta = 0;
  q = detail_reader::read_zigzag(p, record_end, offset_delta);
  if (q == nullptr) return fail(p, detail_reader::kMalformedVarint);
  if (offset_delta <= previous_offset_delta_ || offset_delta > last_offset_delta_) {
    return fail(p, "offset delta out of order or past the last offset delta");
  }
  p = read_bytes(q, record_end, true, out.key, kKey);
  if (p != nullptr) p = read_bytes(p, record_end, true, out.value, kValue);
  if (p != nullptr) p = read_headers(p, record_end, out);
  if (p == nullptr) return DecodeStatus::corrupt;
  if (p != record_end) return fail(p, "record length does not match its contents");
  previous_offset_delta_ = offset_delta;
  // Wrapping sums: timestamps are stored as wrapped deltas, and an offset
  // cannot overflow after parse_batch but may in a trusted view of bad bytes.
  out.offset = static_cast<std::int64_t>(static_cast<std::uint64_t>(base_offset_) +
                                         static_cast<std::uint64_t>(offset_delta));
  out.timestamp = static_cast<std::int64_t>(static_cast<std::uint64_t>(first_timestamp_) +
                                            static_cast<std::uint64_t>(timestamp_delta));
  return DecodeStatus::ok;
}

inline const std::byte* RecordReader::read_headers(const std::byte* p, const std::byte* record_end,
                                                   DecodedRecord& out) noexcept {
  static constexpr FieldReasons kHeaderKey{"header key length is negative",
                                           "header key length past the end of the record"};
  static constexpr FieldReasons kHeaderValue{"header value length is negative (not -1)",
                                             "header value length past the end of the record"};
  std::int64_t count = 0;
  const std::byte* q = detail_reader::read_zigzag(p, record_end, count);
  if (q == nullptr) {
    fail(p, detail_reader::kMalformedVarint);
    return nullptr;
  }
  // Each header takes at least two bytes (two one-byte lengths).
  if (count < 0 || count > (record_end - q) / 2) {
    fail(p, count < 0 ? "header count is negative" : "header count past the end of the record");
    return nullptr;
  }
  const std::byte* const headers_start = q;
  std::optional<std::string_view> part;
  for (std::int64_t i = 0; i < count && q != nullptr; ++i) {
    q = read_bytes(q, record_end, false, part, kHeaderKey);
    if (q != nullptr) q = read_bytes(q, record_end, true, part, kHeaderValue);
  }
  if (q == nullptr) return nullptr;
  out.headers_encoded = std::span<const std::byte>(headers_start, q);
  out.header_count = static_cast<std::uint32_t>(count);
  return q;
}

inline const std::byte* RecordReader::read_bytes(const std::byte* p, const std::byte* end,
                                                 bool nullable,
                                                 std::optional<std::string_view>& out,
                                                 const FieldReasons& why) noexcept {
  std::int64_t length = 0;
  const std::byte* const q = detail_reader::read_zigzag(p, end, length);
  if (q == nullptr) {
    fail(p, detail_reader::kMalformedVarint);
    return nullptr;
  }
  if (length < 0) {
    if (length != -1 || !nullable) {
      fail(p, why.negative);
      return nullptr;
    }
    out.reset();
    return q;
  }
  if (length > end - q) {
    fail(p, why.past_end);
    return nullptr;
  }
  out.emplace(reinterpret_cast<const char*>(q), static_cast<std::size_t>(length));
  return q + length;
}

}  // namespace rill::codec
