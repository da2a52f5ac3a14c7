// Tests of ring::FrameRing: framing, padding at the wrap, back-pressure,
// dense offsets, a stuck claim padded over, overwrite overruns with exact
// loss counts, and many producers with content checks (also under TSan).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "ring/frame_ring.hpp"
#include "rill/error.hpp"
#include "test_util.hpp"

namespace {

using rill::FullPolicy;
using rill::ring::ClaimStatus;
using rill::ring::FrameClaim;
using rill::ring::FrameReader;
using rill::ring::FrameRing;
using rill::ring::FrameReadStatus;
using namespace std::chrono_literals;

// A body of `bytes` bytes that says who wrote it: producer, sequence, and a
// filler derived from both, so a torn or foreign body is caught.
std::vector<std::byte> body_of(std::uint32_t producer, std::uint64_t seq, std::size_t bytes) {
  std::vector<std::byte> body(bytes);
  for (std::size_t i = 0; i < bytes; ++i) {
    body[i] = static_cast<std::byte>((producer * 131 + seq * 31 + i) & 0xff);
  }
  if (bytes >= 12) {
    std::memcpy(body.data(), &producer, 4);
    std::memcpy(body.data() + 4, &seq, 8);
  }
  return body;
}

bool intact(const std::vector<std::byte>& body, std::uint32_t& producer, std::uint64_t& seq) {
  if (body.size() < 12) return false;
  std::memcpy(&producer, body.data(), 4);
  std::memcpy(&seq, body.data() + 4, 8);
  return body == body_of(producer, seq, body.size());
}

// Claims, writes and commits one frame; returns the claim.
FrameClaim send(FrameRing& ring, const std::vector<std::byte>& body, std::uint32_t records,
                std::uint64_t limit) {
  FrameClaim claim = ring.try_claim(body.size(), records, limit);
  if (claim.status == ClaimStatus::ok) {
    ring.write_body(claim, 0, body);
    REQUIRE(ring.commit(claim));
  }
  return claim;
}

}  // namespace

TEST_CASE("frame ring: frames come out whole, in order, with dense offsets", "[ring]") {
  FrameRing ring(4096, FullPolicy::block);
  FrameReader reader(ring);
  const std::uint32_t counts[] = {3, 1, 5};
  for (std::uint64_t i = 0; i < 3; ++i) {
    const FrameClaim c = send(ring, body_of(0, i, 20 + 7 * i), counts[i], reader.position());
    REQUIRE(c.status == ClaimStatus::ok);
    CHECK(c.position % FrameRing::kAlign == 0);
  }
  CHECK(ring.next_offset() == 9);
  std::vector<std::byte> body;
  std::int64_t expected_offset = 0;
  for (std::uint64_t i = 0; i < 3; ++i) {
    const auto r = reader.try_read(body);
    REQUIRE(r.status == FrameReadStatus::ok);
    CHECK(r.first_offset == expected_offset);
    CHECK(r.record_count == counts[i]);
    CHECK(body == body_of(0, i, 20 + 7 * i));
    expected_offset += counts[i];
  }
  CHECK(reader.try_read(body).status == FrameReadStatus::empty);
  CHECK(reader.next_offset() == 9);
  CHECK(reader.position() == ring.claim_position());
}

TEST_CASE("frame ring: a bad capacity or timeout is refused before anything is allocated", "[ring]") {
  auto refused = [](std::size_t capacity, std::chrono::nanoseconds timeout) {
    try {
      FrameRing ring(capacity, FullPolicy::block, timeout);
    } catch (const rill::Error& e) {
      CHECK(e.code() == rill::ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find("frame ring: capacity") != std::string::npos);
      return true;
    }
    return false;
  };
  CHECK(refused(0, 1s));
  CHECK(refused(FrameRing::kMaxCapacity + 1, 1s));
  CHECK(refused(4096, 0ns));
  CHECK_FALSE(refused(std::size_t{1} << 28, 1s));
  const FrameRing ring(1, FullPolicy::block);
  CHECK(ring.capacity() == FrameRing::kMinCapacity);
  const FrameRing odd(1000, FullPolicy::block);  // a multiple of 16, not a power of two
  CHECK(odd.capacity() == 1008);
  CHECK(odd.max_body_bytes() == 504 - FrameRing::kHeaderBytes);
}

TEST_CASE("frame ring: a frame that would wrap is preceded by padding", "[ring]") {
  FrameRing ring(256, FullPolicy::block);
  ring.reset_for_test(256 - 48, 100);  // 48 bytes before the end
  FrameReader reader(ring);
  const FrameClaim c = send(ring, body_of(1, 7, 40), 2, reader.position());  // spans 80
  REQUIRE(c.status == ClaimStatus::ok);
  CHECK(c.position == 256);  // the start of the next lap
  CHECK(c.first_offset == 100);
  std::vector<std::byte> body;
  const auto r = reader.try_read(body);
  REQUIRE(r.status == FrameReadStatus::ok);
  CHECK(r.first_offset == 100);  // padding takes no offset
  CHECK(body == body_of(1, 7, 40));
  CHECK(ring.next_offset() == 102);
}

TEST_CASE("frame ring: block claims stop at limit + capacity and say full", "[ring]") {
  FrameRing ring(256, FullPolicy::block);
  FrameReader reader(ring);
  CHECK(ring.try_claim(ring.max_body_bytes() + 1, 1, 0).status == ClaimStatus::too_large);
  int sent = 0;
  while (send(ring, body_of(0, sent, 32), 1, reader.position()).status == ClaimStatus::ok) ++sent;
  CHECK(sent == 4);  // 64-byte frames in 256 bytes
  CHECK(ring.try_claim(32, 1, reader.position()).status == ClaimStatus::full);
  std::vector<std::byte> body;
  REQUIRE(reader.try_read(body).status == FrameReadStatus::ok);
  CHECK(send(ring, body_of(0, 4, 32), 1, reader.position()).status == ClaimStatus::ok);
  CHECK_THROWS_AS(FrameRing(0, FullPolicy::block), rill::Error);
  CHECK_THROWS_AS(FrameRing(256, FullPolicy::block, 0ns), rill::Error);
}

TEST_CASE("frame ring: a stuck claim is padded over after stuck_timeout", "[ring]") {
  FrameRing ring(4096, FullPolicy::block, 50ms);
  FrameReader reader(ring);
  REQUIRE(send(ring, body_of(0, 0, 16), 1, reader.position()).status == ClaimStatus::ok);
  FrameClaim stuck;
  // A thread claims 4 records' frame and stops without committing.
  std::thread([&] { stuck = ring.try_claim(64, 4, reader.position()); }).join();
  REQUIRE(stuck.status == ClaimStatus::ok);
  CHECK(stuck.first_offset == 1);
  // Later frames of another producer are claimed and committed behind it.
  for (std::uint64_t i = 1; i <= 2; ++i) {
    REQUIRE(send(ring, body_of(1, i, 24), 1, reader.position()).status == ClaimStatus::ok);
  }
  std::vector<std::byte> body;
  REQUIRE(reader.try_read(body).status == FrameReadStatus::ok);
  // The reader waits at the stuck frame, then pads it over (bounded: 10 s).
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  rill::ring::FrameRead r;
  while ((r = reader.try_read(body)).status == FrameReadStatus::empty &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(r.status == FrameReadStatus::aborted);
  CHECK(r.first_offset == 1);
  CHECK(r.record_count == 4);  // offsets 1..4 are gone, never reused
  for (std::uint64_t i = 1; i <= 2; ++i) {
    r = reader.try_read(body);
    REQUIRE(r.status == FrameReadStatus::ok);
    CHECK(r.first_offset == static_cast<std::int64_t>(4 + i));
    CHECK(body == body_of(1, i, 24));
  }
  // The holder wakes up: its commit fails, and nothing of it is delivered.
  ring.write_body(stuck, 0, body_of(9, 9, 64));
  CHECK_FALSE(ring.commit(stuck));
  CHECK(reader.try_read(body).status == FrameReadStatus::empty);
}

TEST_CASE("frame ring: a producer held back by a stuck claim pads it over", "[ring]") {
  FrameRing ring(256, FullPolicy::block, 50ms);
  FrameReader reader(ring);
  const FrameClaim stuck = ring.try_claim(32, 2, reader.position());
  REQUIRE(stuck.status == ClaimStatus::ok);
  int sent = 0;
  while (send(ring, body_of(0, sent, 32), 1, reader.position()).status == ClaimStatus::ok) ++sent;
  CHECK(sent == 3);
  // The reader never comes; the producer recovers the claim at its limit.
  FrameRing::StuckWatch watch;
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  bool recovered = false;
  while (!(recovered = ring.recover_stuck(reader.position(), watch)) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(recovered);
  CHECK_FALSE(ring.commit(stuck));
  std::vector<std::byte> body;
  const auto r = reader.try_read(body);
  CHECK(r.status == FrameReadStatus::aborted);
  CHECK(r.record_count == 2);
  CHECK(reader.try_read(body).first_offset == 2);
}

TEST_CASE("frame ring: an overrun reader is told exactly how many offsets it lost", "[ring]") {
  FrameRing ring(256, FullPolicy::overwrite);
  FrameReader reader(ring);
  std::vector<std::byte> body;
  for (std::uint64_t i = 0; i < 3; ++i) {
    REQUIRE(send(ring, body_of(0, i, 32), 2, 0).status == ClaimStatus::ok);  // 64-byte frames
  }
  REQUIRE(reader.try_read(body).status == FrameReadStatus::ok);  // offsets 0, 1
  for (std::uint64_t i = 3; i < 10; ++i) {
    REQUIRE(send(ring, body_of(0, i, 32), 2, 0).status == ClaimStatus::ok);  // never full
  }
  const auto r = reader.try_read(body);
  REQUIRE(r.status == FrameReadStatus::lost);
  CHECK(r.first_offset == 2);
  CHECK(r.record_count == 18);  // offsets 2 .. 19: it resumes at the tail
  CHECK(reader.next_offset() == 20);
  CHECK(reader.try_read(body).status == FrameReadStatus::empty);
  REQUIRE(send(ring, body_of(0, 10, 32), 2, 0).status == ClaimStatus::ok);
  const auto next = reader.try_read(body);
  CHECK(next.status == FrameReadStatus::ok);
  CHECK(next.first_offset == 20);
  CHECK(body == body_of(0, 10, 32));
}

namespace {

// `producers` threads send `per_producer` frames each (bodies of 12..140
// bytes, 1..3 records); one reader checks every frame.
struct StressResult {
  std::uint64_t frames = 0, records = 0, lost = 0, damaged = 0, out_of_order = 0;
  std::uint64_t failed_commits = 0;
  std::int64_t offset_errors = 0;
};

StressResult stress(FrameRing& ring, std::uint32_t producers, std::uint64_t per_producer) {
  FrameReader reader(ring);
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> failed_commits{0};
  for (std::uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint64_t s = 0; s < per_producer; ++s) {
        const auto body = body_of(p, s, 12 + (s * 37 + p) % 129);
        const auto records = static_cast<std::uint32_t>(1 + s % 3);
        for (;;) {
          const FrameClaim c = ring.try_claim(body.size(), records, reader.position());
          if (c.status == ClaimStatus::ok) {
            ring.write_body(c, 0, body);
            // Overwrite: a lap may replace the frame before it commits.
            if (!ring.commit(c)) failed_commits.fetch_add(1, std::memory_order_relaxed);
            break;
          }
          std::this_thread::yield();
        }
      }
    });
  }
  StressResult result;
  std::vector<std::uint64_t> next(producers, 0);
  std::vector<std::byte> body;
  std::int64_t expected = 0;
  const std::int64_t total = static_cast<std::int64_t>(per_producer * producers * 2);  // 1+2+3 / 3
  while (reader.next_offset() < total) {
    const auto r = reader.try_read(body);
    if (r.status == FrameReadStatus::empty) {
      std::this_thread::yield();
      continue;
    }
    if (r.first_offset != expected) ++result.offset_errors;
    expected = r.first_offset + r.record_count;
    if (r.status != FrameReadStatus::ok) {
      result.lost += r.record_count;
      continue;
    }
    ++result.frames;
    result.records += r.record_count;
    std::uint32_t producer = 0;
    std::uint64_t seq = 0;
    if (!intact(body, producer, seq) || producer >= producers) {
      ++result.damaged;
      continue;
    }
    const bool lossy = ring.policy() == FullPolicy::overwrite;
    if (lossy ? seq < next[producer] : seq != next[producer]) ++result.out_of_order;
    next[producer] = seq + 1;
  }
  for (auto& t : threads) t.join();
  result.failed_commits = failed_commits.load();
  return result;
}

std::uint64_t stress_frames() { return 20'000 * rill::test::scale(); }

}  // namespace

TEST_CASE("frame ring: many producers, every frame read once, whole and in order",
          "[ring][stress]") {
  FrameRing ring(4096, FullPolicy::block, 60s);
  const std::uint64_t per_producer = stress_frames() - stress_frames() % 3;
  const StressResult r = stress(ring, 3, per_producer);
  CHECK(r.frames == 3 * per_producer);
  CHECK(r.records == 3 * per_producer * 2);
  CHECK(r.lost == 0);
  CHECK(r.damaged == 0);
  CHECK(r.out_of_order == 0);
  CHECK(r.offset_errors == 0);
  CHECK(r.failed_commits == 0);
}

TEST_CASE("frame ring: overwrite readers never return a torn frame and count every loss",
          "[ring][stress]") {
  FrameRing ring(1024, FullPolicy::overwrite, 60s);
  const std::uint64_t per_producer = stress_frames() - stress_frames() % 3;
  const StressResult r = stress(ring, 2, per_producer);
  CHECK(r.damaged == 0);
  CHECK(r.out_of_order == 0);
  CHECK(r.offset_errors == 0);
  CHECK(r.records + r.lost == 2 * per_producer * 2);
}

TEST_CASE("frame ring: marked claims stop at the limit mark, and a barrier fences a lowered one", "[ring]") {
  FrameRing ring(1024, FullPolicy::block);
  CHECK(ring.limit_mark().position == FrameRing::kNoLimit);
  // No mark: claims overwrite lap after lap.
  for (int i = 0; i < 40; ++i) REQUIRE(ring.try_claim_marked(48, 1).status == ClaimStatus::ok);
  const rill::ring::FrameMark tail = ring.tail();
  CHECK(tail.offset == 40);
  // A mark at the tail: one lap more, then full.
  rill::ring::FrameMark expected = ring.limit_mark();
  REQUIRE(ring.replace_limit_mark(expected, tail));
  rill::ring::FrameMark stale{FrameRing::kNoLimit, 0};
  CHECK_FALSE(ring.replace_limit_mark(stale, {0, 0}));  // not the mark any more: refused, told what it is
  CHECK(stale.position == tail.position);
  const std::uint64_t barrier = ring.try_barrier();
  CHECK(barrier == tail.position);  // 16 bytes of padding, no offset
  CHECK(ring.next_offset() == 40);
  int more = 0;
  while (ring.try_claim_marked(48, 1).status == ClaimStatus::ok) ++more;
  CHECK(more == (1024 - 16) / 80);  // 80-byte frames up to mark + capacity
  CHECK(ring.try_barrier() == FrameRing::kNoLimit);  // no room for the barrier either
  // A reader sees the barrier as padding.
  rill::ring::FrameHeader h;
  REQUIRE(ring.header(barrier, h));
  CHECK(h.kind == rill::ring::FrameKind::padding);
  CHECK(h.span == 16);
}

TEST_CASE("frame ring: anchors find every retained offset on a ring of any size, lap after lap", "[ring]") {
  for (const std::size_t capacity : {std::size_t{16384}, std::size_t{20000}}) {
    CAPTURE(capacity);
    FrameRing ring(capacity, FullPolicy::overwrite);
    std::int64_t offset = 0;
    for (int i = 0; i < 3000; ++i) {
      const std::uint32_t count = 1 + i % 5;
      const FrameClaim c = ring.try_claim(16 + (i * 37) % 400, count, 0);
      REQUIRE(c.status == ClaimStatus::ok);
      CHECK(c.first_offset == offset);
      REQUIRE(ring.commit(c));
      offset += count;
    }
    rill::ring::FrameMark tail;
    const rill::ring::FrameMark oldest = ring.oldest({FrameRing::kNoLimit, 0}, tail);
    CHECK(tail.offset == offset);
    CHECK(oldest.position + capacity >= tail.position);                        // inside the last lap
    CHECK(oldest.position < tail.position - capacity + FrameRing::kAnchorInterval + 512);  // within an anchor
    for (std::int64_t o = oldest.offset; o < offset; ++o) {
      rill::ring::FrameMark at;
      REQUIRE(ring.locate(o, {FrameRing::kNoLimit, 0}, at));
      rill::ring::FrameHeader h;
      REQUIRE(ring.header(at.position, h));
      CHECK(at.offset <= o);
      CHECK(at.offset + h.record_count > o);
    }
    rill::ring::FrameMark at;
    CHECK_FALSE(ring.locate(oldest.offset - 1, {FrameRing::kNoLimit, 0}, at));  // older than the window
    CHECK(at.offset == oldest.offset);
    REQUIRE(ring.locate(offset + 5, {FrameRing::kNoLimit, 0}, at));  // at or past the end: the tail
    CHECK(at.position == tail.position);
  }
}
