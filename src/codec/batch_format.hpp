// The record batch format: the unit that producers build, rings store and the
// durable log writes to disk, byte for byte. This file holds the constants and
// the header layout; docs/log_format.md is the byte-level specification, with
// a diagram. Change one, change the other (and the golden bytes in
// tests/unit/codec_test.cpp, which exist so that the format cannot drift).
//
// A batch is a 64-byte header followed by records in Kafka's record v2 body
// layout. All integers are little-endian. The header is 8-byte aligned and
// every field sits at a multiple of its own size, so a mapped segment can be
// read through BatchHeader once a batch starts at a multiple of
// kBatchAlignment; the codec itself reads fields with memcpy and accepts any
// alignment.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // header-only XXH3: no library to link, and it inlines
#endif
#include <xxhash.h>

namespace rill::codec {

static_assert(std::endian::native == std::endian::little,
              "the batch format is little-endian; a big-endian host needs byte swaps "
              "in the loads and stores of batch_format.hpp");

// Identifies the format and its version (format 1 is 'R'). A later layout
// takes a new value; a reader rejects a value it does not know.
inline constexpr std::uint8_t kBatchMagic = 0x52;

// Batch attributes (BatchHeader::attributes). The bits mirror Kafka's
// RecordBatch v2 attributes so the Kafka protocol edge can copy them.
inline constexpr std::uint16_t kAttrCompressionMask = 0x0007;  // 0 = none (only value supported)
inline constexpr std::uint16_t kAttrLogAppendTime = 0x0008;    // timestamps set by the log
inline constexpr std::uint16_t kAttrTransactional = 0x0010;    // part of a transaction
inline constexpr std::uint16_t kAttrControl = 0x0020;          // holds control records
// Bits a reader accepts; any other bit set is corruption (or a newer writer).
inline constexpr std::uint16_t kAttrKnownMask = 0x003f;

// The producer identity written in a batch for the idempotent producer.
// -1 everywhere means "no producer id" (a plain, non-idempotent batch).
struct ProducerFields {
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
};

// The fixed header at the start of every batch (docs/log_format.md).
struct alignas(8) BatchHeader {
  std::int64_t base_offset;        // offset of the first record; NOT checksummed
  std::uint64_t checksum;          // XXH3-64 of bytes [kChecksumStart, batch_length)
  std::uint32_t batch_length;      // whole batch in bytes, header included
  std::uint8_t magic;              // kBatchMagic
  std::uint8_t reserved0;          // zero
  std::uint16_t attributes;        // kAttr* bits
  std::int32_t last_offset_delta;  // last record's offset minus base_offset
  std::uint32_t record_count;      // records in the body, at least 1
  std::int64_t first_timestamp;    // first record's timestamp (ms); deltas are from it
  std::int64_t max_timestamp;      // largest record timestamp in the batch
  std::int64_t producer_id;        // -1 none
  std::int16_t producer_epoch;     // -1 none
  std::uint16_t reserved1;         // zero
  std::int32_t base_sequence;      // sequence of the first record, -1 none
};

inline constexpr std::size_t kBatchHeaderSize = 64;
inline constexpr std::size_t kBatchAlignment = 8;
// The checksum covers everything after itself: the rest of the header
// (length and magic included) and the records.
inline constexpr std::size_t kChecksumStart = 16;

static_assert(sizeof(BatchHeader) == kBatchHeaderSize, "batch header is 64 bytes");
static_assert(alignof(BatchHeader) == kBatchAlignment, "batch header is 8-byte aligned");
static_assert(std::is_trivially_copyable_v<BatchHeader>, "batch header is copied as bytes");
static_assert(std::is_standard_layout_v<BatchHeader>, "offsetof needs a standard layout");
static_assert(offsetof(BatchHeader, base_offset) == 0, "layout: base_offset");
static_assert(offsetof(BatchHeader, checksum) == 8, "layout: checksum");
static_assert(offsetof(BatchHeader, batch_length) == kChecksumStart, "layout: batch_length");
static_assert(offsetof(BatchHeader, magic) == 20, "layout: magic");
static_assert(offsetof(BatchHeader, reserved0) == 21, "layout: reserved0");
static_assert(offsetof(BatchHeader, attributes) == 22, "layout: attributes");
static_assert(offsetof(BatchHeader, last_offset_delta) == 24, "layout: last_offset_delta");
static_assert(offsetof(BatchHeader, record_count) == 28, "layout: record_count");
static_assert(offsetof(BatchHeader, first_timestamp) == 32, "layout: first_timestamp");
static_assert(offsetof(BatchHeader, max_timestamp) == 40, "layout: max_timestamp");
static_assert(offsetof(BatchHeader, producer_id) == 48, "layout: producer_id");
static_assert(offsetof(BatchHeader, producer_epoch) == 56, "layout: producer_epoch");
static_assert(offsetof(BatchHeader, reserved1) == 58, "layout: reserved1");
static_assert(offsetof(BatchHeader, base_sequence) == 60, "layout: base_sequence");

// Limits. kMaxBatchBytes keeps every length inside a batch within int32, as
// Kafka's record format requires; a header claiming more is corrupt.
inline constexpr std::size_t kMaxBatchBytes = std::size_t{1} << 30;
// The smallest encoded record: a 1-byte length and 6 one-byte fields.
inline constexpr std::size_t kMinRecordBytes = 7;
// The smallest record body (what a record's length counts).
inline constexpr std::int64_t kMinRecordBodyBytes = 6;
static_assert(kMaxBatchBytes / kMinRecordBytes < (std::size_t{1} << 31),
              "a full batch's record count and offset deltas fit int32");

// Bytes a container (ring, segment) uses for a batch it stores back to back
// with others, so that the next one starts 8-byte aligned: the length rounded
// up to kBatchAlignment. The padding is zero bytes and is not part of the batch.
constexpr std::size_t padded_batch_size(std::size_t batch_length) noexcept {
  return (batch_length + kBatchAlignment - 1) & ~(kBatchAlignment - 1);
}

// Reads a header field of type T at byte `at` of `p` (any alignment).
template <typename T>
[[nodiscard]] inline T load_field(const std::byte* p, std::size_t at) noexcept {
  T v;
  std::memcpy(&v, p + at, sizeof v);
  return v;
}

template <typename T>
inline void store_field(std::byte* p, std::size_t at, T v) noexcept {
  std::memcpy(p + at, &v, sizeof v);
}

// XXH3-64 of what the checksum covers: bytes [kChecksumStart, size) of a
// whole batch. `batch` must span exactly the batch (batch_length bytes).
[[nodiscard]] inline std::uint64_t compute_checksum(std::span<const std::byte> batch) noexcept {
  assert(batch.size() >= kBatchHeaderSize);
  return XXH3_64bits(batch.data() + kChecksumStart, batch.size() - kChecksumStart);
}

// Sets the base offset of a finished batch (the log assigns it on append).
// The checksum does not cover it, so nothing else changes.
inline void set_base_offset(std::span<std::byte> batch, std::int64_t base) noexcept {
  assert(batch.size() >= kBatchHeaderSize);
  store_field(batch.data(), offsetof(BatchHeader, base_offset), base);
}

// The base offset of a batch (at least kBatchHeaderSize bytes).
[[nodiscard]] inline std::int64_t read_base_offset(std::span<const std::byte> batch) noexcept {
  assert(batch.size() >= kBatchHeaderSize);
  return load_field<std::int64_t>(batch.data(), offsetof(BatchHeader, base_offset));
}

}  // namespace rill::codec
