// ByteRing: a single-producer / single-consumer ring of variable-length
// records, framed in place inside a caller-provided memory region. Byte
// layout: docs/ring_format.md.
//
// Design
// - The region is a ByteRingHeader (metadata, producer_position,
//   consumer_position, each on its own pair of cache lines) followed by a data
//   area of `capacity` bytes, a power of two. Nothing inside the region is a
//   pointer, so it may be mapped at different addresses by different
//   processes (once it lives in shared memory).
// - Positions are byte counts that only increase; the data offset of position
//   p is p & mask. Every frame starts at a multiple of 8.
// - A frame is an 8-byte header {length, type} and the payload; length counts
//   header + payload, and the frame occupies align8(length) bytes. A length of
//   0 means "not committed yet". The producer writes type and payload, then
//   stores length with release: the length word is written last and
//   publishes the frame. The consumer acquires length and reads nothing else
//   of a frame whose length is 0.
// - Invariant: the length word at the consumer's position is 0 or belongs to
//   a committed frame of the current lap. The producer keeps it true by
//   zeroing the header of the *next* frame position before publishing the
//   current one (so space for one extra header is always reserved), and by
//   zeroing offset 0 before publishing a padding frame.
// - A record never wraps: when it does not fit before the end of the data
//   area, a padding frame (type kPaddingType) fills the rest and the record
//   starts at offset 0. The consumer skips padding frames.
// - The consumer frees space with one release store of consumer_position per
//   read() call; the producer acquires it only when its cached copy says full.
// - A record longer than max_record_length() (capacity/2 - 16 bytes) is
//   refused with ClaimStatus::too_large; it could not be guaranteed to fit.
// - Thread roles: one producer (try_claim/commit/abandon) and one consumer
//   (read), possibly in different processes, each through its own ByteRing
//   view of the same region.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>

#include "rill/detail/cache.hpp"
#include "rill/error.hpp"

namespace rill::detail {

// The start of a byte-ring region. Trivially destructible, no pointers.
struct ByteRingHeader {
  static constexpr std::uint64_t kMagic = 0x3154'5942'4C4C'4952ULL;  // "RILLBYT1" little-endian
  static constexpr std::uint32_t kVersion = 1;

  // Immutable after ByteRing::format().
  alignas(kFalseSharingRange) std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t header_bytes;  // sizeof(ByteRingHeader): where the data area starts
  std::uint64_t capacity;      // data area bytes, a power of two
  // Written by the producer (release, after each commit), read by anyone:
  // bytes produced so far. Frames are published by their length word.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> producer_position;
  // Written by the consumer (release, once per read()), read by the producer.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> consumer_position;
};
static_assert(sizeof(ByteRingHeader) == 3 * kFalseSharingRange, "byte ring header is 384 bytes");
static_assert(offsetof(ByteRingHeader, producer_position) == kFalseSharingRange,
              "producer_position starts the second line pair");
static_assert(offsetof(ByteRingHeader, consumer_position) == 2 * kFalseSharingRange,
              "consumer_position starts the third line pair");
static_assert(std::is_trivially_destructible_v<ByteRingHeader>, "the header lives in raw memory");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic_ref<std::uint32_t>::required_alignment == 4,
              "positions and length words must be address-free lock-free atomics");

enum class ClaimStatus : std::uint8_t {
  ok,         // `bytes` is the record's payload, to fill and then commit()
  full,       // not enough free space now; retry after the consumer reads
  too_large,  // longer than max_record_length(); can never fit
};

struct ByteClaim {
  ClaimStatus status;
  std::span<std::byte> bytes;  // empty unless status == ok
};

class ByteRing {
 public:
  static constexpr std::uint32_t kPaddingType = 0xFFFF'FFFF;  // reserved frame type
  static constexpr std::size_t kFrameHeaderBytes = 8;
  static constexpr std::size_t kFrameAlign = 8;
  static constexpr std::size_t kMinCapacity = 64;
  static constexpr std::size_t kRegionAlign = kFalseSharingRange;

  // Bytes a region needs for a data area of `capacity` (a power of two).
  [[nodiscard]] static constexpr std::size_t region_bytes_for(std::size_t capacity) noexcept {
    return sizeof(ByteRingHeader) + capacity;
  }

  // Initialises `region` as an empty ring whose capacity is the largest power
  // of two that fits, and returns a view of it. Throws rill::Error when the
  // region is misaligned (needs kRegionAlign) or too small.
  [[nodiscard]] static ByteRing format(std::span<std::byte> region) {
    check_region(region);
    const std::size_t capacity = std::bit_floor(region.size() - sizeof(ByteRingHeader));
    auto* header = std::construct_at(reinterpret_cast<ByteRingHeader*>(region.data()));
    header->magic = ByteRingHeader::kMagic;
    header->version = ByteRingHeader::kVersion;
    header->header_bytes = sizeof(ByteRingHeader);
    header->capacity = capacity;
    header->producer_position.store(0, std::memory_order_relaxed);  // not shared yet
    header->consumer_position.store(0, std::memory_order_relaxed);  // not shared yet
    std::byte* data = region.data() + sizeof(ByteRingHeader);
    std::fill(data, data + capacity, std::byte{0});
    return ByteRing(region);
  }

  // Attaches to a region formatted earlier. Throws rill::Error (corrupt) when
  // the header is not a byte ring header of this version or does not fit.
  explicit ByteRing(std::span<std::byte> region) {
    check_region(region);
    header_ = std::launder(reinterpret_cast<ByteRingHeader*>(region.data()));
    if (header_->magic != ByteRingHeader::kMagic || header_->version != ByteRingHeader::kVersion ||
        header_->header_bytes != sizeof(ByteRingHeader) ||
        !std::has_single_bit(header_->capacity) || header_->capacity < kMinCapacity ||
        header_->capacity > region.size() - sizeof(ByteRingHeader)) {
      throw Error(ErrorCode::corrupt, "byte ring region: bad header (magic, version or capacity); "
                                      "format the region with ByteRing::format first");
    }
    data_ = region.data() + sizeof(ByteRingHeader);
    capacity_ = header_->capacity;
    mask_ = capacity_ - 1;
    // acquire: pairs with the other view's release stores of the positions.
    producer_.position = header_->producer_position.load(std::memory_order_acquire);
    producer_.cached_consumer_position = header_->consumer_position.load(std::memory_order_acquire);
    consumer_.position = producer_.cached_consumer_position;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t max_record_length() const noexcept { return capacity_ / 2 - 16; }

  // Reserves a record of `length` payload bytes with frame type `type`
  // (any value but kPaddingType). The record stays invisible to the reader
  // until commit(). At most one claim is open at a time. Producer only.
  [[nodiscard]] ByteClaim try_claim(std::size_t length, std::uint32_t type = 0) noexcept;

  // Publishes the claimed record. Producer only; requires an open claim.
  void commit() noexcept;

  // Drops the claimed record: it becomes padding that the reader skips.
  void abandon() noexcept;

  // Calls handler(payload, type) — or handler(payload) — for up to
  // `max_frames` committed records in order, payload being a
  // std::span<const std::byte> valid during the call, then frees their
  // space with one store. Returns the number of records handled. If the
  // handler throws, the records before it are freed and the throwing one
  // will be delivered again. Consumer only.
  template <class Handler>
  std::size_t read(Handler&& handler, std::size_t max_frames = SIZE_MAX);

  // Bytes between consumer and producer position (a snapshot). Any thread.
  [[nodiscard]] std::size_t size() const noexcept {
    // acquire on both: a snapshot, consumer first so that the result is >= 0.
    const std::uint64_t consumed = header_->consumer_position.load(std::memory_order_acquire);
    const std::uint64_t produced = header_->producer_position.load(std::memory_order_acquire);
    return static_cast<std::size_t>(produced - consumed);
  }

  // Test-only: moves both positions of an EMPTY ring to `position` (a
  // multiple of 8) in the region and in this view. No concurrent use.
  void reset_positions_for_test(std::uint64_t position) noexcept {
    header_->producer_position.store(position, std::memory_order_relaxed);  // no concurrent user
    header_->consumer_position.store(position, std::memory_order_relaxed);  // no concurrent user
    producer_.position = producer_.cached_consumer_position = consumer_.position = position;
    length_word(position).store(0, std::memory_order_relaxed);  // no concurrent user
  }

 private:
  static void check_region(std::span<std::byte> region) {
    if (reinterpret_cast<std::uintptr_t>(region.data()) % kRegionAlign != 0 ||
        region.size() < region_bytes_for(kMinCapacity)) {
      throw Error(ErrorCode::invalid_argument,
                  "byte ring region of " + std::to_string(region.size()) +
                      " bytes: needs at least " + std::to_string(region_bytes_for(kMinCapacity)) +
                      " bytes aligned to " + std::to_string(kRegionAlign));
    }
  }

  static constexpr std::uint64_t align_frame(std::uint64_t bytes) noexcept {
    return (bytes + kFrameAlign - 1) & ~std::uint64_t{kFrameAlign - 1};
  }

  std::byte* at(std::uint64_t position) const noexcept { return data_ + (position & mask_); }
  std::atomic_ref<std::uint32_t> length_word(std::uint64_t position) const noexcept {
    return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(at(position)));
  }
  void write_type(std::uint64_t position, std::uint32_t type) const noexcept {
    std::memcpy(at(position) + 4, &type, sizeof type);
  }
  std::uint32_t read_type(std::uint64_t position) const noexcept {
    std::uint32_t type;
    std::memcpy(&type, at(position) + 4, sizeof type);
    return type;
  }
  bool has_room(std::uint64_t bytes) noexcept;
  void publish_frame(std::uint64_t position, std::uint64_t length, std::uint64_t next) noexcept;

  ByteRingHeader* header_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  // Producer-local state of this view.
  struct alignas(kFalseSharingRange) {
    std::uint64_t position = 0;                  // next free byte
    std::uint64_t cached_consumer_position = 0;  // refreshed only when the ring looks full
    std::uint64_t claim_position = 0;            // frame start of the open claim
    std::uint64_t claim_length = 0;              // header + payload of the open claim
  } producer_;
  // Consumer-local state of this view.
  struct alignas(kFalseSharingRange) {
    std::uint64_t position = 0;  // next frame to read
  } consumer_;
};

inline bool ByteRing::has_room(std::uint64_t bytes) noexcept {
  if (producer_.position + bytes - producer_.cached_consumer_position <= capacity_) return true;
  // acquire: pairs with the consumer's release in read(); its reads of the
  // freed bytes happen before we overwrite them.
  producer_.cached_consumer_position = header_->consumer_position.load(std::memory_order_acquire);
  return producer_.position + bytes - producer_.cached_consumer_position <= capacity_;
}

inline void ByteRing::publish_frame(std::uint64_t position, std::uint64_t length,
                                    std::uint64_t next) noexcept {
  // relaxed: ordered before the consumer's view by the release store below.
  length_word(next).store(0, std::memory_order_relaxed);
  // release: publishes type, payload and the zeroed next header; pairs with
  // the acquire of the length word in read().
  length_word(position).store(static_cast<std::uint32_t>(length), std::memory_order_release);
}

inline ByteClaim ByteRing::try_claim(std::size_t length, std::uint32_t type) noexcept {
  if (length > max_record_length()) return {ClaimStatus::too_large, {}};
  const std::uint64_t frame = align_frame(kFrameHeaderBytes + length);
  const std::uint64_t to_end = capacity_ - (producer_.position & mask_);
  const std::uint64_t padding = frame > to_end ? to_end : 0;
  // One extra header: the next frame position is zeroed at commit.
  if (!has_room(padding + frame + kFrameHeaderBytes)) return {ClaimStatus::full, {}};
  if (padding != 0) {
    write_type(producer_.position, kPaddingType);
    publish_frame(producer_.position, padding, producer_.position + padding);
    producer_.position += padding;
  }
  write_type(producer_.position, type);
  producer_.claim_position = producer_.position;
  producer_.claim_length = kFrameHeaderBytes + length;
  producer_.position += frame;
  return {ClaimStatus::ok, {at(producer_.claim_position) + kFrameHeaderBytes, length}};
}

inline void ByteRing::commit() noexcept {
  publish_frame(producer_.claim_position, producer_.claim_length, producer_.position);
  // release: size() readers see the bytes; frames are published above.
  header_->producer_position.store(producer_.position, std::memory_order_release);
}

inline void ByteRing::abandon() noexcept {
  write_type(producer_.claim_position, kPaddingType);
  producer_.claim_length = producer_.position - producer_.claim_position;
  commit();
}

template <class Handler>
std::size_t ByteRing::read(Handler&& handler, std::size_t max_frames) {
  const std::uint64_t start = consumer_.position;
  std::size_t records = 0;
  auto release_space = [&] {
    if (consumer_.position == start) return;
    // release: our reads of the frames happen before the producer reuses
    // them; pairs with the acquire in has_room().
    header_->consumer_position.store(consumer_.position, std::memory_order_release);
  };
  while (records < max_frames) {
    // acquire: pairs with the release in publish_frame().
    const std::uint32_t length = length_word(consumer_.position).load(std::memory_order_acquire);
    if (length == 0) break;
    const std::uint64_t frame_start = consumer_.position;
    const std::uint32_t type = read_type(frame_start);
    if (type != kPaddingType) {
      const std::span<const std::byte> payload(at(frame_start) + kFrameHeaderBytes,
                                               length - kFrameHeaderBytes);
      try {
        if constexpr (std::is_invocable_v<Handler&, std::span<const std::byte>, std::uint32_t>) {
          handler(payload, type);
        } else {
          handler(payload);
        }
      } catch (...) {
        release_space();
        throw;
      }
      ++records;
    }
    consumer_.position = frame_start + align_frame(length);
  }
  release_space();
  return records;
}

}  // namespace rill::detail
