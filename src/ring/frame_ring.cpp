// FrameRing and FrameReader; the design is in frame_ring.hpp.
#include "ring/frame_ring.hpp"

namespace rill::ring {
namespace {

constexpr std::size_t kMaxCapacity = std::size_t{1} << 28;  // spans fit 24 bits of units

// `capacity` rounded up, after the checks: a bad request is refused before
// anything is allocated.
std::size_t checked_capacity(std::size_t capacity, std::chrono::nanoseconds stuck_timeout) {
  if (capacity == 0 || capacity > kMaxCapacity || stuck_timeout.count() <= 0) {
    throw Error(ErrorCode::invalid_argument,
                "frame ring: capacity " + std::to_string(capacity) + " and stuck_timeout " +
                    std::to_string(stuck_timeout.count()) +
                    " ns are out of range (use 1 .. 2^28 bytes and a positive timeout)");
  }
  return std::bit_ceil(std::max(capacity, FrameRing::kMinCapacity));
}

std::uint64_t random_seed() {
  std::random_device device;
  const std::uint64_t seed = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return seed | (std::uint64_t{1} << 63);  // positions stay below 2^63: a tag is never 0
}

}  // namespace

FrameRing::FrameRing(std::size_t capacity, FullPolicy policy,
                     std::chrono::nanoseconds stuck_timeout)
    : capacity_(checked_capacity(capacity, stuck_timeout)),
      mask_(capacity_ - 1),
      policy_(policy),
      stuck_timeout_(stuck_timeout),
      seed_(random_seed()),
      units_(new Unit[capacity_ / kAlign]()) {}

bool FrameRing::help_advance(Tail t) noexcept {
  std::uint64_t state = 0;
  if (!header_at(t.position, state)) return false;  // nothing claimed at the tail yet
  Unit expected = pack(t.position, static_cast<std::uint64_t>(t.offset));
  const Unit desired = pack(t.position + span_of(state),
                            static_cast<std::uint64_t>(t.offset + count_of(state)));
  // Failure is fine: someone else moved the tail past this header.
  return cas(tail_, expected, desired);
}

FrameClaim FrameRing::try_claim(std::size_t body_bytes, std::uint32_t record_count,
                                std::uint64_t limit) noexcept {
  if (body_bytes > max_body_bytes()) return {ClaimStatus::too_large};
  const std::uint64_t span = align(kHeaderBytes + body_bytes);
  for (Tail t = read_tail();; t = read_tail()) {
    const std::uint64_t p = t.position;
    const std::uint64_t to_end = capacity_ - (p & mask_);
    const bool pad = span > to_end;  // the rest of the lap becomes padding first
    const std::uint64_t frame_span = pad ? to_end : span;
    if (policy_ != FullPolicy::overwrite && p + frame_span - limit > capacity_) {
      return {ClaimStatus::full};
    }
    // Step 2: install the header at p from whatever is there now.
    Unit seen = load(unit(p));
    if (low(seen) == tag(p)) {  // claimed already: step 3 for its holder
      help_advance(t);
      continue;
    }
    // The tail still at {p, o} after that read: `seen` is this lap's free
    // unit at p, not a later lap's bytes (a claimer stopped between reading
    // the tail and the unit would otherwise install over a live frame).
    const Tail again = read_tail();
    if (again.position != p || again.offset != t.offset) continue;
    const FrameKind kind = pad ? FrameKind::padding : FrameKind::claimed;
    const std::uint32_t count = pad ? 0 : record_count;
    if (!cas(unit(p), seen, pack(tag(p), state_of(kind, frame_span, count)))) continue;
    // Step 3 (or someone did it already for us).
    help_advance(t);
    if (pad) continue;
    return {ClaimStatus::ok, p, t.offset, record_count, static_cast<std::uint32_t>(body_bytes)};
  }
}

void FrameRing::write_body(const FrameClaim& claim, std::size_t at,
                           std::span<const std::byte> bytes) noexcept {
  std::uint64_t position = claim.position + kHeaderBytes + at;
  std::size_t done = 0;
  while (done < bytes.size()) {
    // Word by word (relaxed atomics: an overwrite reader may be copying).
    const std::size_t in_word = position % 8;
    const std::size_t n = std::min(bytes.size() - done, 8 - in_word);
    std::atomic_ref<std::uint64_t> w = word(position - in_word);
    std::uint64_t value = n == 8 ? 0 : w.load(std::memory_order_relaxed);  // only this claimer writes
    std::memcpy(reinterpret_cast<std::byte*>(&value) + in_word, bytes.data() + done, n);
    w.store(value, std::memory_order_relaxed);  // published by commit()'s CAS
    done += n;
    position += n;
  }
}

bool FrameRing::commit(const FrameClaim& claim) noexcept {
  // relaxed: published with the body by the CAS below.
  word(claim.position + 16).store(static_cast<std::uint64_t>(claim.first_offset),
                                  std::memory_order_relaxed);
  word(claim.position + 24).store(claim.body_bytes, std::memory_order_relaxed);
  const std::uint64_t span = align(kHeaderBytes + claim.body_bytes);
  Unit expected =
      pack(tag(claim.position), state_of(FrameKind::claimed, span, claim.record_count));
  // Full barrier (release half: the body and the words above happen before
  // a reader's load of the header). Fails when a waiter aborted the frame
  // or an overwrite lap replaced it.
  return cas(unit(claim.position), expected,
             pack(tag(claim.position), state_of(FrameKind::data, span, claim.record_count)));
}

bool FrameRing::abort_claimed(std::uint64_t position, std::uint64_t state) noexcept {
  Unit expected = pack(tag(position), state);
  const Unit aborted =
      pack(tag(position), state_of(FrameKind::aborted, span_of(state), count_of(state)));
  // Either we pad it over, or it changed (committed, or aborted by another).
  return cas(unit(position), expected, aborted) || expected == aborted;
}

bool FrameRing::stuck_for_long(std::uint64_t position, StuckWatch& watch) const noexcept {
  const auto now = StuckClock::now();
  if (watch.position != position) {
    watch = {position, now};
    return false;
  }
  return now - watch.since >= stuck_timeout_;
}

bool FrameRing::recover_stuck(std::uint64_t limit, StuckWatch& watch) noexcept {
  std::uint64_t state = 0;
  if (!header_at(limit, state) || kind_of(state) != FrameKind::claimed) return false;
  return stuck_for_long(limit, watch) && abort_claimed(limit, state);
}

std::uint64_t FrameRing::claim_position() const noexcept { return read_tail().position; }
std::int64_t FrameRing::next_offset() const noexcept { return read_tail().offset; }

void FrameRing::reset_for_test(std::uint64_t position, std::int64_t offset) noexcept {
  tail_[0] = pack(position, static_cast<std::uint64_t>(offset));  // no concurrent user
}

FrameReader::FrameReader(FrameRing& ring) noexcept : ring_(ring) {
  const FrameRing::Tail t = ring.read_tail();
  position_.store(t.position, std::memory_order_relaxed);  // not shared yet
  next_offset_ = t.offset;
}

FrameRead FrameReader::skip(std::uint64_t span, std::int64_t first, std::uint32_t count,
                            FrameReadStatus status) {
  next_offset_ = first + count;
  // release: we are done with the bytes before the new position; pairs with
  // the producers' acquire in position().
  position_.store(position_.load(std::memory_order_relaxed) + span, std::memory_order_release);
  return {status, first, count};
}

FrameRead FrameReader::try_read(std::vector<std::byte>& body) {
  const bool lossy = ring_.policy() == FullPolicy::overwrite;
  auto overrun = [&]() -> FrameRead {
    // Resume at the tail; everything before it is lost to this reader.
    const FrameRing::Tail t = ring_.read_tail();
    const FrameRead lost{FrameReadStatus::lost, next_offset_,
                         static_cast<std::uint32_t>(t.offset - next_offset_)};
    next_offset_ = t.offset;
    position_.store(t.position, std::memory_order_release);  // as in skip()
    return lost;
  };
  for (;;) {
    // relaxed: only this reader writes its position.
    const std::uint64_t p = position_.load(std::memory_order_relaxed);
    std::uint64_t state = 0;
    // The header load is a full-barrier CAS: it acquires the commit.
    if (!ring_.header_at(p, state)) {
      if (lossy && ring_.read_tail().position - p > ring_.capacity()) return overrun();
      return {FrameReadStatus::empty};  // nothing claimed at p yet
    }
    const std::uint64_t span = FrameRing::span_of(state);
    const std::uint32_t count = FrameRing::count_of(state);
    switch (FrameRing::kind_of(state)) {
      case FrameKind::padding:
        skip(span, next_offset_, 0, FrameReadStatus::ok);
        continue;
      case FrameKind::aborted: return skip(span, next_offset_, count, FrameReadStatus::aborted);
      case FrameKind::claimed:
        if (ring_.stuck_for_long(p, watch_) && ring_.abort_claimed(p, state)) continue;
        return {FrameReadStatus::empty};
      case FrameKind::data: break;
    }
    const auto bytes = static_cast<std::size_t>(
        std::min<std::uint64_t>(ring_.word(p + 24).load(std::memory_order_relaxed),
                                span - FrameRing::kHeaderBytes));
    body.resize(bytes);
    for (std::size_t i = 0; i < bytes; i += 8) {
      // relaxed: ordered after the commit by the header load above; torn
      // copies (overwrite only) are caught by the tail check below.
      const std::uint64_t w =
          ring_.word(p + FrameRing::kHeaderBytes + i).load(std::memory_order_relaxed);
      std::memcpy(body.data() + i, &w, std::min<std::size_t>(8, bytes - i));
    }
    if (lossy) {
      // acquire: a copy that read any word of a later lap sees that lap's
      // claim in the tail below (the claim's CAS precedes its body stores).
      std::atomic_thread_fence(std::memory_order_acquire);
      if (ring_.read_tail().position - p > ring_.capacity()) return overrun();
    }
    return skip(span, next_offset_, count, FrameReadStatus::ok);
  }
}

}  // namespace rill::ring
