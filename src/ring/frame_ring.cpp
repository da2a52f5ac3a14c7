// FrameRing and FrameReader; the design is in frame_ring.hpp.
#include "ring/frame_ring.hpp"

namespace rill::ring {
namespace {

// `capacity` rounded up, after the checks: a bad request is refused before
// anything is allocated.
std::size_t checked_capacity(std::size_t capacity, std::chrono::nanoseconds stuck_timeout) {
  if (capacity == 0 || capacity > FrameRing::kMaxCapacity || stuck_timeout.count() <= 0) {
    throw Error(ErrorCode::invalid_argument,
                "frame ring: capacity " + std::to_string(capacity) + " and stuck_timeout " +
                    std::to_string(stuck_timeout.count()) +
                    " ns are out of range (use 1 .. 2^40 bytes and a positive timeout)");
  }
  const std::size_t rounded = (capacity + FrameRing::kAlign - 1) & ~(FrameRing::kAlign - 1);
  return std::max(rounded, FrameRing::kMinCapacity);
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
      power_of_two_(std::has_single_bit(capacity_)),
      policy_(policy),
      stuck_timeout_(stuck_timeout),
      seed_(random_seed()),
      anchors_per_lap_((capacity_ + kAnchorInterval - 1) / kAnchorInterval),
      units_(new Unit[capacity_ / kAlign]()),
      anchors_(new Unit[anchors_per_lap_]()) {
  limit_[0] = pack(kNoLimit, 0);  // not shared yet; anchor 0 of lap 0 is {0, 0}
}

bool FrameRing::help_advance(Tail t) noexcept {
  std::uint64_t state = 0;
  if (!header_at(t.position, state)) return false;  // nothing claimed at the tail yet
  Unit expected = pack(t.position, static_cast<std::uint64_t>(t.offset));
  const Unit desired = pack(t.position + span_of(state),
                            static_cast<std::uint64_t>(t.offset + count_of(state)));
  // Failure is fine: someone else moved the tail past this header.
  return cas(tail_, expected, desired);
}

template <typename Limit>
FrameClaim FrameRing::claim(std::size_t body_bytes, std::uint32_t record_count, Limit limit) noexcept {
  if (body_bytes > max_body_bytes()) return {ClaimStatus::too_large};
  const std::uint64_t span = align(kHeaderBytes + body_bytes);
  for (Tail t = read_tail();; t = read_tail()) {
    const std::uint64_t p = t.position;
    const std::uint64_t to_end = capacity_ - in_ring(p);
    const bool pad = span > to_end;  // the rest of the lap becomes padding first
    const std::uint64_t frame_span = pad ? to_end : span;
    if (policy_ != FullPolicy::overwrite) {
      // Read after the tail (see Design: a lowered mark is fenced by a barrier).
      const std::uint64_t l = limit();
      if (l != kNoLimit && p + frame_span > l + capacity_) return {ClaimStatus::full};
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
    const bool barrier = record_count == 0;  // try_barrier: one unit of padding
    const FrameKind kind = pad || barrier ? FrameKind::padding : FrameKind::claimed;
    const std::uint64_t installed = barrier && !pad ? kAlign : frame_span;
    const std::uint32_t count = pad ? 0 : record_count;
    if (!cas(unit(p), seen, pack(tag(p), state_of(kind, installed, count)))) continue;
    // Step 3 (or someone did it already for us).
    help_advance(t);
    write_anchors(p, installed, t.offset, count);
    if (pad) continue;
    return {ClaimStatus::ok, p, t.offset, record_count, static_cast<std::uint32_t>(body_bytes)};
  }
}

FrameClaim FrameRing::try_claim(std::size_t body_bytes, std::uint32_t record_count,
                                std::uint64_t limit) noexcept {
  return claim(body_bytes, record_count, [limit]() noexcept { return limit; });
}

FrameClaim FrameRing::try_claim_marked(std::size_t body_bytes, std::uint32_t record_count) noexcept {
  return claim(body_bytes, std::max<std::uint32_t>(record_count, 1),
               [this]() noexcept { return low(load(limit_)); });
}

std::uint64_t FrameRing::try_barrier() noexcept {
  // record_count 0 marks the barrier: a padding frame of one unit.
  const FrameClaim c = claim(0, 0, [this]() noexcept { return low(load(limit_)); });
  return c.status == ClaimStatus::ok ? c.position : kNoLimit;
}

FrameMark FrameRing::limit_mark() const noexcept {
  const Unit m = load(limit_);
  return {low(m), static_cast<std::int64_t>(high(m))};
}

bool FrameRing::replace_limit_mark(FrameMark& expected, FrameMark desired) noexcept {
  Unit e = pack(expected.position, static_cast<std::uint64_t>(expected.offset));
  if (cas(limit_, e, pack(desired.position, static_cast<std::uint64_t>(desired.offset)))) return true;
  expected = {low(e), static_cast<std::int64_t>(high(e))};
  return false;
}

void FrameRing::write_anchors(std::uint64_t position, std::uint64_t span, std::int64_t offset,
                              std::uint32_t count) noexcept {
  // Every boundary in (position, position + span] gets {next frame, next offset}.
  const std::uint64_t rel = in_ring(position);
  const std::uint64_t end = rel + span;
  const Unit desired = pack(position + span, static_cast<std::uint64_t>(offset + count));
  auto store = [&](std::size_t index) noexcept {
    Unit* at = anchors_.get() + index;
    Unit seen = load(at);
    // Only forward: a claimer that stopped for a lap never puts an older
    // lap's anchor back over a newer one.
    while (low(seen) < position + span && !cas(at, seen, desired)) {
    }
  };
  for (std::uint64_t k = rel / kAnchorInterval + 1; k < anchors_per_lap_ && k * kAnchorInterval <= end; ++k) {
    store(k);
  }
  if (end == capacity_) store(0);
}

std::uint64_t FrameRing::boundary(std::uint64_t from, std::uint64_t j) const noexcept {
  // Boundaries numbered from the ring's start: lap L, index k is number L * per_lap + k.
  const std::uint64_t lap = lap_start(from) / capacity_;
  const std::uint64_t first = lap * anchors_per_lap_ + (in_ring(from) + kAnchorInterval - 1) / kAnchorInterval;
  const std::uint64_t n = first + j;
  return (n / anchors_per_lap_) * capacity_ + (n % anchors_per_lap_) * kAnchorInterval;
}

bool FrameRing::anchor(std::uint64_t at, FrameMark& out) const noexcept {
  const Unit e = load(anchors_.get() + in_ring(at) / kAnchorInterval);
  out = {low(e), static_cast<std::int64_t>(high(e))};
  return out.position >= at && out.position - at < capacity_;
}

FrameMark FrameRing::oldest(FrameMark also, FrameMark& tail_out) const noexcept {
  const Tail t = read_tail();
  tail_out = {t.position, t.offset};
  const std::uint64_t from = t.position > capacity_ ? t.position - capacity_ : 0;
  FrameMark best{t.position, t.offset};
  for (std::uint64_t j = 0;; ++j) {
    const std::uint64_t b = boundary(from, j);
    if (b > t.position) break;
    FrameMark e;
    if (anchor(b, e) && e.position >= from && e.position <= t.position) {
      best = e;
      break;
    }
  }
  if (also.position != kNoLimit && also.position >= from && also.position < best.position) best = also;
  return best;
}

bool FrameRing::locate(std::int64_t offset, FrameMark also, FrameMark& out) const noexcept {
  const Tail t = read_tail();
  if (offset >= t.offset) {
    out = {t.position, t.offset};
    return true;
  }
  const std::uint64_t from = t.position > capacity_ ? t.position - capacity_ : 0;
  const bool use_also = also.position != kNoLimit && also.position >= from && also.position <= t.position;
  // Boundaries in [from, tail]: numbered from the ring's start as in boundary().
  const std::uint64_t last = lap_start(t.position) / capacity_ * anchors_per_lap_ + in_ring(t.position) / kAnchorInterval;
  const std::uint64_t first =
      lap_start(from) / capacity_ * anchors_per_lap_ + (in_ring(from) + kAnchorInterval - 1) / kAnchorInterval;
  const std::uint64_t count = last + 1 - first;
  auto valid = [&](std::uint64_t j, FrameMark& e) {
    return anchor(boundary(from, j), e) && e.position >= from && e.position <= t.position;
  };
  // The oldest anchor, then a binary search (skipping stale anchors) for
  // the last one at or below `offset`.
  std::uint64_t lo = 0;
  FrameMark at{kNoLimit, 0};
  for (; lo < count; ++lo) {
    if (valid(lo, at)) break;
  }
  if (lo == count || at.offset > offset) {
    if (!use_also || also.offset > offset) {
      out = lo == count ? (use_also ? also : FrameMark{t.position, t.offset})
                        : (use_also && also.position < at.position ? also : at);
      return false;  // older than every frame reached
    }
    at = also;
  } else {
    std::uint64_t hi = count;
    while (hi - lo > 1) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      std::uint64_t m = mid;
      FrameMark e;
      while (m < hi && !valid(m, e)) ++m;
      if (m == hi) {
        hi = mid;
      } else if (e.offset <= offset) {
        lo = m;
        at = e;
      } else {
        hi = mid;
      }
    }
    if (use_also && also.offset <= offset && also.position > at.position) at = also;
  }
  // Walk the frames from there to the one holding `offset`.
  for (;;) {
    if (at.position >= t.position) return false;  // the frames moved under us
    FrameHeader h;
    if (!header(at.position, h)) return false;
    if (at.offset + h.record_count > offset) {
      out = at;
      return true;
    }
    at.position += h.span;
    at.offset += h.record_count;
  }
}

bool FrameRing::header(std::uint64_t position, FrameHeader& out) const noexcept {
  std::uint64_t state = 0;
  if (!header_at(position, state)) return false;
  out = {kind_of(state), span_of(state), count_of(state)};
  return out.span != 0;
}

bool FrameRing::abort_if_stuck(std::uint64_t position, StuckWatch& watch) noexcept {
  std::uint64_t state = 0;
  if (!header_at(position, state)) return false;
  if (kind_of(state) == FrameKind::aborted) return true;
  return kind_of(state) == FrameKind::claimed && stuck_for_long(position, watch) &&
         abort_claimed(position, state);
}

void FrameRing::copy_words(std::uint64_t* out, std::uint64_t from, std::uint64_t to) const noexcept {
  while (from < to) {
    // Contiguous up to the lap's end.
    const std::uint64_t end = std::min(to, lap_start(from) + capacity_);
    auto* ring = reinterpret_cast<std::uint64_t*>(units_.get()) + in_ring(from) / 8;
    for (std::uint64_t i = 0, n = (end - from) / 8; i < n; ++i) {
      // relaxed: the caller validates the copy against the tail afterwards.
      *out++ = std::atomic_ref<std::uint64_t>(ring[i]).load(std::memory_order_relaxed);
    }
    from = end;
  }
}

void FrameRing::write_body(const FrameClaim& claim, std::size_t at,
                           std::span<const std::byte> bytes) noexcept {
  // A frame never wraps: its body is contiguous from one base word.
  const std::uint64_t start = claim.position + kHeaderBytes + at;
  auto* words = reinterpret_cast<std::uint64_t*>(units_.get()) + in_ring(start) / 8;
  std::size_t in_word = start % 8;
  std::size_t done = 0;
  while (done < bytes.size()) {
    // Word by word (relaxed atomics: an overwrite reader may be copying).
    const std::size_t n = std::min(bytes.size() - done, 8 - in_word);
    std::atomic_ref<std::uint64_t> w(*words++);
    std::uint64_t value = n == 8 ? 0 : w.load(std::memory_order_relaxed);  // only this claimer writes
    std::memcpy(reinterpret_cast<std::byte*>(&value) + in_word, bytes.data() + done, n);
    w.store(value, std::memory_order_relaxed);  // published by commit()'s CAS
    done += n;
    in_word = 0;
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
  // The ring is empty: the first frame at or after every boundary is at `position`.
  for (std::size_t k = 0; k < anchors_per_lap_; ++k) anchors_[k] = pack(position, static_cast<std::uint64_t>(offset));
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
