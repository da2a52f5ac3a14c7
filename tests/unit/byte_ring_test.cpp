// Unit tests of ByteRing: framing bytes, padding at the wrap, invisibility of
// open claims, full and too-large claims, attach/format checks, and a
// randomized write/read run across many laps.
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/detail/byte_ring.hpp"
#include "rill/error.hpp"
#include "test_util.hpp"

namespace {

using rill::detail::ByteRing;
using rill::detail::ByteRingHeader;
using rill::detail::ClaimStatus;

struct alignas(ByteRing::kRegionAlign) Block {
  std::byte bytes[ByteRing::kRegionAlign];
};

// A heap region suitably aligned for a ring with `capacity` data bytes.
struct Region {
  explicit Region(std::size_t capacity)
      : blocks((ByteRing::region_bytes_for(capacity) + sizeof(Block) - 1) / sizeof(Block)) {}
  std::span<std::byte> span() {
    return {blocks.front().bytes, blocks.size() * sizeof(Block)};
  }
  std::byte* data_area() { return span().data() + sizeof(ByteRingHeader); }
  std::vector<Block> blocks;
};

struct Frame {
  std::uint32_t type;
  std::string payload;
  bool operator==(const Frame&) const = default;
};

// Writes one record; false when the ring refused it.
bool write(ByteRing& ring, const std::string& payload, std::uint32_t type = 1) {
  const auto claim = ring.try_claim(payload.size(), type);
  if (claim.status != ClaimStatus::ok) return false;
  REQUIRE(claim.bytes.size() == payload.size());
  std::memcpy(claim.bytes.data(), payload.data(), payload.size());
  ring.commit();
  return true;
}

std::vector<Frame> read(ByteRing& ring, std::size_t max_frames = SIZE_MAX) {
  std::vector<Frame> frames;
  ring.read(
      [&](std::span<const std::byte> bytes, std::uint32_t type) {
        frames.push_back({type, std::string(reinterpret_cast<const char*>(bytes.data()),
                                            bytes.size())});
      },
      max_frames);
  return frames;
}

std::uint32_t word_at(const std::byte* p) {
  std::uint32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

}  // namespace

TEST_CASE("byte ring: format picks the largest power of two that fits", "[ring]") {
  Region region(1000);
  const ByteRing ring = ByteRing::format(region.span().first(ByteRing::region_bytes_for(1000)));
  CHECK(ring.capacity() == 512);
  CHECK(ring.max_record_length() == 512 / 2 - 16);
}

TEST_CASE("byte ring: a second view of the region sees the same records", "[ring]") {
  Region region(256);
  ByteRing producer = ByteRing::format(region.span());
  REQUIRE(write(producer, "hello", 7));
  ByteRing consumer(region.span());
  CHECK(read(consumer) == std::vector<Frame>{{7, "hello"}});
  CHECK(producer.size() == 0);
}

TEST_CASE("byte ring: a region that is not a ring, too small or misaligned is refused",
          "[ring]") {
  Region region(256);
  std::fill(region.span().begin(), region.span().end(), std::byte{0x5A});
  try {
    ByteRing ring(region.span());
    FAIL("attached to garbage");
  } catch (const rill::Error& error) {
    CHECK(error.code() == rill::ErrorCode::corrupt);
  }
  CHECK_THROWS_AS(ByteRing::format(region.span().first(300)), rill::Error);
  CHECK_THROWS_AS(ByteRing::format(region.span().subspan(8)), rill::Error);
}

TEST_CASE("byte ring: the region starts with the documented header", "[ring]") {
  Region region(256);
  const ByteRing ring = ByteRing::format(region.span());
  const std::byte* header = region.span().data();
  CHECK(std::memcmp(header, "RILLBYT1", 8) == 0);
  CHECK(word_at(header + 8) == 1);    // version
  CHECK(word_at(header + 12) == 384);  // header_bytes
  std::uint64_t capacity = 0;
  std::memcpy(&capacity, header + 16, sizeof capacity);
  CHECK(capacity == ring.capacity());
}

TEST_CASE("byte ring: records come out in order with their types", "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  REQUIRE(write(ring, "a", 1));
  REQUIRE(write(ring, "", 2));  // an empty record is a record
  REQUIRE(write(ring, "longer record", 3));
  CHECK(read(ring) == std::vector<Frame>{{1, "a"}, {2, ""}, {3, "longer record"}});
  CHECK(read(ring).empty());
}

TEST_CASE("byte ring: the frame header holds length then type, in native order", "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  REQUIRE(write(ring, "abcde", 9));
  const std::byte* data = region.data_area();
  CHECK(word_at(data) == 8 + 5);
  CHECK(word_at(data + 4) == 9);
  CHECK(std::memcmp(data + 8, "abcde", 5) == 0);
  CHECK(word_at(data + 16) == 0);  // the next frame's length is zero
}

TEST_CASE("byte ring: a claimed but uncommitted record is invisible", "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  const auto claim = ring.try_claim(4, 5);
  REQUIRE(claim.status == ClaimStatus::ok);
  std::memcpy(claim.bytes.data(), "wxyz", 4);
  CHECK(read(ring).empty());
  ring.commit();
  CHECK(read(ring) == std::vector<Frame>{{5, "wxyz"}});
}

TEST_CASE("byte ring: a record that would wrap is preceded by padding", "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  ring.reset_positions_for_test(256 - 16);  // 16 bytes before the end
  REQUIRE(write(ring, std::string(20, 'r'), 4));  // a 32-byte frame
  const std::byte* data = region.data_area();
  CHECK(word_at(data + 240) == 16);
  CHECK(word_at(data + 244) == ByteRing::kPaddingType);
  CHECK(word_at(data) == 28);
  CHECK(word_at(data + 4) == 4);
  CHECK(read(ring) == std::vector<Frame>{{4, std::string(20, 'r')}});
  CHECK(ring.size() == 0);
}

TEST_CASE("byte ring: a record that ends exactly at the end needs no padding", "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  ring.reset_positions_for_test(256 - 32);
  std::fill(region.data_area(), region.data_area() + 8, std::byte{0x77});  // stale bytes
  REQUIRE(write(ring, std::string(24, 'e'), 1));
  CHECK(word_at(region.data_area() + 224) == 32);
  CHECK(word_at(region.data_area()) == 0);  // the next header was zeroed
  CHECK(read(ring) == std::vector<Frame>{{1, std::string(24, 'e')}});
  REQUIRE(write(ring, "next", 2));
  CHECK(read(ring) == std::vector<Frame>{{2, "next"}});
}

TEST_CASE("byte ring: a full ring refuses a claim until the reader frees space", "[ring]") {
  Region region(128);
  ByteRing ring = ByteRing::format(region.span());
  int written = 0;
  while (write(ring, std::string(8, static_cast<char>('a' + written)), 1)) ++written;
  CHECK(written == (128 - 8) / 16);  // 16-byte frames, one header kept in reserve
  CHECK(ring.try_claim(8, 1).status == ClaimStatus::full);
  CHECK(read(ring, 1) == std::vector<Frame>{{1, std::string(8, 'a')}});
  CHECK(write(ring, "freed", 1));
}

TEST_CASE("byte ring: a record longer than the maximum is too large, the maximum always fits",
          "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  CHECK(ring.try_claim(ring.max_record_length() + 1).status == ClaimStatus::too_large);
  for (std::uint64_t start = 0; start < 256; start += 8) {
    ring.reset_positions_for_test(start);
    REQUIRE(write(ring, std::string(ring.max_record_length(), 'm')));
    REQUIRE(read(ring).size() == 1);
  }
}

TEST_CASE("byte ring: an abandoned claim is skipped by the reader", "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  REQUIRE(ring.try_claim(10, 3).status == ClaimStatus::ok);
  ring.abandon();
  REQUIRE(write(ring, "kept", 4));
  CHECK(read(ring) == std::vector<Frame>{{4, "kept"}});
}

TEST_CASE("byte ring: read stops at max_frames and a one-argument handler works", "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  for (const char* word : {"one", "two", "three"}) REQUIRE(write(ring, word));
  std::vector<std::string> seen;
  const std::size_t handled = ring.read(
      [&](std::span<const std::byte> bytes) {
        seen.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
      2);
  CHECK(handled == 2);
  CHECK(seen == std::vector<std::string>{"one", "two"});
  CHECK(read(ring) == std::vector<Frame>{{1, "three"}});
}

TEST_CASE("byte ring: a throwing handler frees the records before it and sees its own again",
          "[ring]") {
  Region region(256);
  ByteRing ring = ByteRing::format(region.span());
  for (const char* word : {"ok", "boom", "after"}) REQUIRE(write(ring, word));
  int calls = 0;
  CHECK_THROWS_AS(ring.read([&](std::span<const std::byte> bytes) {
    ++calls;
    if (bytes.size() == 4) throw std::runtime_error("handler failed");
  }),
                  std::runtime_error);
  CHECK(calls == 2);
  CHECK(read(ring) == std::vector<Frame>{{1, "boom"}, {1, "after"}});
}

TEST_CASE("byte ring: the 64-bit positions may wrap around", "[ring]") {
  Region region(128);
  ByteRing ring = ByteRing::format(region.span());
  ring.reset_positions_for_test(std::numeric_limits<std::uint64_t>::max() - 63);  // 2^64 - 64
  for (int i = 0; i < 40; ++i) {
    const std::string payload(static_cast<std::size_t>(i % 13), static_cast<char>('A' + i % 26));
    REQUIRE(write(ring, payload, static_cast<std::uint32_t>(i)));
    REQUIRE(read(ring) == std::vector<Frame>{{static_cast<std::uint32_t>(i), payload}});
  }
}

TEST_CASE("byte ring: random records across many laps read back intact", "[ring]") {
  std::mt19937_64 random(rill::test::seed());
  Region region(512);
  ByteRing ring = ByteRing::format(region.span());
  std::uniform_int_distribution<std::size_t> length(0, ring.max_record_length());
  std::vector<Frame> expected;
  std::vector<Frame> seen;
  std::size_t next_expected = 0;
  for (int step = 0; step < 5000; ++step) {
    if (random() % 3 != 0) {
      Frame frame{static_cast<std::uint32_t>(step), std::string(length(random) / 4, '\0')};
      for (char& c : frame.payload) c = static_cast<char>(random());
      if (write(ring, frame.payload, frame.type)) expected.push_back(std::move(frame));
    } else {
      for (Frame& frame : read(ring, 1 + random() % 4)) seen.push_back(std::move(frame));
      for (; next_expected < seen.size(); ++next_expected) {
        REQUIRE(seen[next_expected] == expected[next_expected]);
      }
    }
  }
  for (Frame& frame : read(ring)) seen.push_back(std::move(frame));
  CHECK(seen == expected);
}

TEST_CASE("byte ring: the hot-path calls are noexcept", "[ring]") {
  Region region(128);
  ByteRing ring = ByteRing::format(region.span());
  STATIC_REQUIRE(noexcept(ring.try_claim(1, 1)));
  STATIC_REQUIRE(noexcept(ring.commit()));
  STATIC_REQUIRE(noexcept(ring.abandon()));
  STATIC_REQUIRE(noexcept(ring.size()));
}
