// FrameRing: a byte ring of variable-length frames that many producers claim
// without a lock, with dense record offsets assigned at claim time, and a
// claim that no stopped holder can block for longer than stuck_timeout.
// The building block for memory partitions (one codec batch per frame).
//
// Design
// - `capacity` bytes, a multiple of 16 (rounded up; a power of two takes
//   a mask, any other size a division per header), as 16-byte units;
//   positions are byte counts that only increase, the unit of position p is
//   (p % capacity) / 16. A frame starts at a multiple of 16 and never wraps:
//   when it does not fit before the end, the claim also takes the rest of
//   the lap as a padding frame and the frame starts the next lap.
// - A frame is a 32-byte header and the body. Header words: tag = p ^ seed
//   (the frame's own position, so a header of another lap or body bytes
//   never pass for it; seed is random per ring, top bit set), state = kind
//   | length in 16-byte units (28 bits) | record count, then first offset
//   and body bytes (data frames only: a padding frame is its first unit
//   alone, 16 bytes at least). tag and state are one 16-byte unit, written
//   only by 128-bit compare-and-swap (cmpxchg16b, inlined with -mcx16: the
//   legacy __sync builtin, which TSan instruments; std::atomic<16 bytes>
//   would call libatomic instead).
// - The tail is one 16-byte unit {position, next offset}, changed only by
//   128-bit CAS, so a claim moves both at once and every frame's first
//   offset = the previous frame's + its record count (padding counts 0).
// - Claim, in three steps: (1) read the tail {p, o}; (2) read the unit at
//   p, reread the tail (still {p, o}, so what was read is this lap's free
//   unit), and install the header by CAS from it to {tag(p), claimed}; (3)
//   CAS the tail {p, o} -> {p + span, o + count}. Anyone who finds a claimed
//   header at the tail's position does (3) for its holder, so a holder
//   stopped after (2) blocks nobody, and one stopped before (2) owns
//   nothing: it loses its CAS and retries. Every claimed frame therefore has
//   its header in place, and the length and count of a stuck one are known.
// - Commit: CAS state claimed -> data (release; readers acquire the header).
//   A waiter (a reader at the frame, or a producer whose limit is held by
//   it) that has seen it claimed for stuck_timeout CASes it to aborted,
//   keeping length and count: the offsets are skipped, never reused, and
//   readers are told how many. The holder's later commit CAS fails and it
//   reports failure; its body writes after that land only in its own
//   frame, which readers skip. Bound: the region is reused only after
//   every reader has passed it and the ring has gone a lap further; a
//   holder still inside write_body() by then (stopped for longer than
//   stuck_timeout plus a lap of traffic) could scribble on the next lap's
//   frame there. In overwrite mode readers detect that as an overrun; in
//   block/fail mode it is the residual risk of recovering a stuck holder
//   that is in fact alive, and why stuck_timeout should be generous.
// - The same bound covers step (2): a claimer stopped between its second
//   tail read and its CAS, for a lap of traffic, could install a header over
//   a later lap's 16 bytes at p only if they equal the ones it read.
// - Back-pressure: FullPolicy::block/fail claims take a limit (a position
//   below which nothing may be overwritten) and never write at or past
//   limit + capacity; they return `full` instead. The limit is either a
//   value (the slowest FrameReader's position) or the ring's own shared
//   limit mark {position, offset} (set_limit / replace_limit, a 16-byte
//   unit): try_claim_marked() reads the mark after its first tail read in
//   every attempt, so a claim that installs its header at p read the mark
//   after the tail reached p. Whoever lowers the mark can therefore fence
//   off every claim that read the old one with one claim of its own
//   (try_barrier: a 16-byte padding frame at the tail under the new mark):
//   claims before the barrier are below it, claims after it saw the new
//   mark. FullPolicy::overwrite claims never wait; a reader copies a frame
//   out, then (acquire fence) rereads the tail: if it has passed position
//   + capacity the copy may be torn, and the reader resumes at the tail,
//   told exactly how many offsets it lost.
// - Anchors: for every 4 KiB boundary of a lap, the first frame starting at
//   or after it {position, offset}, written (16-byte CAS) by the claimer
//   of the frame that reaches the boundary, once it holds its header. A
//   stale anchor (of an earlier lap, or not yet written) is recognised by
//   its position and skipped. locate() looks an offset up through them
//   (binary search, then a walk over at most one boundary's frames, every
//   header checked by its tag), and oldest() finds the oldest frame they
//   reach; both may be stale at once, and a caller that copies frames
//   validates its copy against the tail afterwards.
// - Body words are accessed as relaxed atomics (std::atomic_ref), so an
//   overwritten frame a reader is copying is a detected overrun, not a race.
// - Thread roles: any thread claims, writes its own claim's body and
//   commits; each FrameReader is used by one thread at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "rill/detail/cache.hpp"
#include "rill/error.hpp"
#include "rill/options.hpp"

#if !defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_16)
#error "FrameRing needs a 16-byte compare-and-swap: build with -mcx16 on x86-64"
#endif

namespace rill::ring {

__extension__ typedef unsigned __int128 Unit;  // one 16-byte unit of the ring
using StuckClock = std::chrono::steady_clock;

enum class FrameKind : std::uint8_t { claimed = 1, data = 2, padding = 3, aborted = 4 };

enum class ClaimStatus : std::uint8_t {
  ok,         // the frame is claimed: write its body, then commit()
  full,       // block/fail: no room before limit + capacity; retry later
  too_large,  // body longer than max_body_bytes(): can never fit
};

struct FrameClaim {
  ClaimStatus status = ClaimStatus::full;
  std::uint64_t position = 0;      // where the frame's header starts
  std::int64_t first_offset = 0;   // the frame's first record offset
  std::uint32_t record_count = 0;
  std::uint32_t body_bytes = 0;
};

// What one FrameReader::try_read found.
enum class FrameReadStatus : std::uint8_t {
  ok,       // a data frame was copied out
  empty,    // nothing committed at the reader's position yet
  aborted,  // a stuck claim was padded over: `record_count` offsets skipped
  lost,     // overwrite: the reader was overrun and lost `record_count` offsets
};

struct FrameRead {
  FrameReadStatus status = FrameReadStatus::empty;
  std::int64_t first_offset = 0;  // the first offset of the frame (or of the loss)
  std::uint32_t record_count = 0;
};

class FrameReader;

// A frame's header as read at one moment.
struct FrameHeader {
  FrameKind kind = FrameKind::padding;
  std::uint64_t span = 0;        // bytes from this frame's header to the next frame's
  std::uint32_t record_count = 0;
};

// A position in the ring with the first offset of the frame there.
struct FrameMark {
  std::uint64_t position = 0;
  std::int64_t offset = 0;
};

class FrameRing {
 public:
  static constexpr std::size_t kHeaderBytes = 32;
  static constexpr std::size_t kAlign = 16;
  static constexpr std::size_t kMinCapacity = 256;
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 40;
  static constexpr std::size_t kAnchorInterval = 4096;
  // The limit mark when nothing holds claims back.
  static constexpr std::uint64_t kNoLimit = ~std::uint64_t{0};

  // capacity: bytes, rounded up to a multiple of 16 (>= kMinCapacity).
  // policy: block and fail take a limit; overwrite never waits.
  // stuck_timeout: how long a claim may stay uncommitted before a waiter
  // may pad it over. Throws rill::Error for a bad capacity or timeout.
  FrameRing(std::size_t capacity, FullPolicy policy,
            std::chrono::nanoseconds stuck_timeout = std::chrono::seconds(1));

  FrameRing(const FrameRing&) = delete;
  FrameRing& operator=(const FrameRing&) = delete;

  // Claims a frame of `body_bytes` holding `record_count` records (at least
  // 1). Under block/fail, `limit` is the slowest reader's position; under
  // overwrite it is ignored. Never blocks; lock-free.
  [[nodiscard]] FrameClaim try_claim(std::size_t body_bytes, std::uint32_t record_count,
                                     std::uint64_t limit) noexcept;
  // The same, held back by the ring's limit mark instead (block/fail).
  [[nodiscard]] FrameClaim try_claim_marked(std::size_t body_bytes, std::uint32_t record_count) noexcept;

  // Copies `bytes` into the claimed frame's body at `at`. The claimer only,
  // between try_claim and commit.
  void write_body(const FrameClaim& claim, std::size_t at,
                  std::span<const std::byte> bytes) noexcept;
  // The claimed frame's body, for a claimer that writes it through the
  // pointer: valid between try_claim and commit, and only written with
  // relaxed atomic stores when readers may copy frames without a limit
  // holding them (write_body does that).
  [[nodiscard]] std::byte* body_of(const FrameClaim& claim) const noexcept {
    return bytes_at(claim.position + kHeaderBytes);
  }

  // Publishes the frame. False when the claim was padded over as stuck (its
  // offsets are lost; nothing of it is ever delivered).
  [[nodiscard]] bool commit(const FrameClaim& claim) noexcept;

  // Under block/fail: if the frame at `limit` (a reader position) has been
  // claimed and uncommitted for stuck_timeout as timed by `watch`, pads it
  // over and returns true. A producer that keeps getting `full` calls this.
  struct StuckWatch {
    std::uint64_t position = ~std::uint64_t{0};
    StuckClock::time_point since{};
  };
  bool recover_stuck(std::uint64_t limit, StuckWatch& watch) noexcept;

  // The limit mark (block/fail with try_claim_marked): claims never write
  // at or past mark.position + capacity; kNoLimit lets them overwrite.
  [[nodiscard]] FrameMark limit_mark() const noexcept;
  // Replaces the mark when it is still `expected`; false (and `expected`
  // updated) when another thread changed it first.
  bool replace_limit_mark(FrameMark& expected, FrameMark desired) noexcept;
  // A padding frame of 16 bytes at the tail, claimed under the limit mark:
  // after it, every claim reads the mark as it is now (see Design). Returns
  // the barrier's position, or kNoLimit when the mark leaves no room.
  [[nodiscard]] std::uint64_t try_barrier() noexcept;

  // Reading frames in place (for storage that keeps its own readers'
  // positions). header(): false when the unit at `position` is not a
  // header of this lap's frame there (nothing claimed yet, or overwritten).
  // The load is a full barrier: a data header acquires its body.
  [[nodiscard]] bool header(std::uint64_t position, FrameHeader& out) const noexcept;
  // The header a state word (the second word of a header unit) stands for,
  // for a caller reading a copy of frames.
  [[nodiscard]] static FrameHeader decode(std::uint64_t state) noexcept {
    return {kind_of(state), span_of(state), count_of(state)};
  }
  [[nodiscard]] const std::byte* body_at(std::uint64_t position) const noexcept {
    return bytes_at(position + kHeaderBytes);
  }
  // Body bytes of the data frame at `position` (after header() said data).
  [[nodiscard]] std::uint32_t body_bytes_at(std::uint64_t position) const noexcept {
    return static_cast<std::uint32_t>(word(position + 24).load(std::memory_order_relaxed));
  }
  // Pads the claimed frame at `position` over when `watch` has seen it
  // claimed for stuck_timeout; true if it is aborted now.
  bool abort_if_stuck(std::uint64_t position, StuckWatch& watch) noexcept;
  // Copies the words of [from, to) (multiples of 8, at most a capacity
  // apart) with relaxed atomic loads; the caller validates the copy.
  void copy_words(std::uint64_t* out, std::uint64_t from, std::uint64_t to) const noexcept;

  // Offsets to positions through the anchors (see Design). locate(): the
  // frame holding `offset` (or the tail when offset >= its offset); false
  // when the frames moved under the walk or `offset` is older than every
  // anchor (then `out` is the oldest frame reached). `also` is a mark the
  // caller knows to hold a frame start (e.g. a limit), used when it is
  // nearer; {kNoLimit, 0} for none.
  [[nodiscard]] bool locate(std::int64_t offset, FrameMark also, FrameMark& out) const noexcept;
  // The oldest frame an anchor (or `also`) reaches, and the tail.
  [[nodiscard]] FrameMark oldest(FrameMark also, FrameMark& tail) const noexcept;

  // The tail: the next claim's position and first offset. Any thread.
  [[nodiscard]] FrameMark tail() const noexcept {
    const Tail t = read_tail();
    return {t.position, t.offset};
  }
  [[nodiscard]] std::uint64_t claim_position() const noexcept;
  [[nodiscard]] std::int64_t next_offset() const noexcept;

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t max_body_bytes() const noexcept {
    return std::min<std::size_t>(capacity_ / 2, kMaxSpan) - kHeaderBytes;
  }
  [[nodiscard]] FullPolicy policy() const noexcept { return policy_; }
  [[nodiscard]] std::chrono::nanoseconds stuck_timeout() const noexcept { return stuck_timeout_; }

  // Test-only: moves the tail of an EMPTY ring to {position, offset}
  // (position a multiple of 16). No concurrent use; readers made after.
  void reset_for_test(std::uint64_t position, std::int64_t offset) noexcept;

 private:
  friend class FrameReader;

  static constexpr std::size_t kMaxSpan = ((std::size_t{1} << 28) - 1) * kAlign;

  struct Tail {
    std::uint64_t position;
    std::int64_t offset;
  };
  static Unit pack(std::uint64_t lo, std::uint64_t hi) noexcept {
    return (static_cast<Unit>(hi) << 64) | lo;
  }
  static std::uint64_t low(Unit u) noexcept { return static_cast<std::uint64_t>(u); }
  static std::uint64_t high(Unit u) noexcept { return static_cast<std::uint64_t>(u >> 64); }
  // Full barrier CAS (the __sync builtins are sequentially consistent):
  // every pair below that needs release/acquire gets at least that.
  static bool cas(Unit* at, Unit& expected, Unit desired) noexcept {
    const Unit seen = __sync_val_compare_and_swap(at, expected, desired);
    if (seen == expected) return true;
    expected = seen;
    return false;
  }
  // An atomic 16-byte read: a CAS that writes back what is there.
  static Unit load(Unit* at) noexcept { return __sync_val_compare_and_swap(at, Unit{0}, Unit{0}); }

  static std::uint64_t state_of(FrameKind kind, std::uint64_t span, std::uint32_t count) noexcept {
    return static_cast<std::uint64_t>(kind) | ((span / kAlign) << 4) |
           (static_cast<std::uint64_t>(count) << 32);
  }
  static FrameKind kind_of(std::uint64_t state) noexcept {
    return static_cast<FrameKind>(state & 0xf);
  }
  // Frame span in bytes (stored in 16-byte units, 28 bits).
  static std::uint64_t span_of(std::uint64_t state) noexcept {
    return ((state >> 4) & 0xFFF'FFFF) * kAlign;
  }
  static std::uint32_t count_of(std::uint64_t state) noexcept {
    return static_cast<std::uint32_t>(state >> 32);
  }
  static std::uint64_t align(std::uint64_t bytes) noexcept {
    return (bytes + kAlign - 1) & ~std::uint64_t{kAlign - 1};
  }

  std::uint64_t tag(std::uint64_t position) const noexcept { return position ^ seed_; }
  std::uint64_t in_ring(std::uint64_t position) const noexcept {
    return power_of_two_ ? position & mask_ : position % capacity_;
  }
  std::uint64_t lap_start(std::uint64_t position) const noexcept { return position - in_ring(position); }
  std::byte* bytes_at(std::uint64_t position) const noexcept {
    return reinterpret_cast<std::byte*>(units_.get()) + in_ring(position);
  }
  Unit* unit(std::uint64_t position) const noexcept {
    return units_.get() + in_ring(position) / kAlign;
  }
  std::atomic_ref<std::uint64_t> word(std::uint64_t position) const noexcept {
    return std::atomic_ref<std::uint64_t>(
        reinterpret_cast<std::uint64_t*>(units_.get())[in_ring(position) / 8]);
  }
  Tail read_tail() const noexcept {
    const Unit t = load(tail_);
    return {low(t), static_cast<std::int64_t>(high(t))};
  }
  // The header unit at `position`: {tag, state} when it is this position's.
  bool header_at(std::uint64_t position, std::uint64_t& state) const noexcept {
    const Unit h = load(unit(position));
    state = high(h);
    return low(h) == tag(position);
  }
  template <typename Limit>
  FrameClaim claim(std::size_t body_bytes, std::uint32_t record_count, Limit limit) noexcept;
  // Step 3 of a claim, for anyone: moves the tail past a claimed header.
  bool help_advance(Tail tail) noexcept;
  // The anchors a frame [position, position + span) of first offset
  // `offset` and `count` records reaches (see Design).
  void write_anchors(std::uint64_t position, std::uint64_t span, std::int64_t offset,
                     std::uint32_t count) noexcept;
  // Anchor `index` of the lap holding `boundary`, if it is that boundary's.
  bool anchor(std::uint64_t boundary, FrameMark& out) const noexcept;
  // The anchor boundaries from the first at or after `from`, j = 0, 1, ...
  std::uint64_t boundary(std::uint64_t from, std::uint64_t j) const noexcept;
  // CAS of a claimed frame's state to aborted; true if it is aborted now.
  bool abort_claimed(std::uint64_t position, std::uint64_t state) noexcept;
  bool stuck_for_long(std::uint64_t position, StuckWatch& watch) const noexcept;

  const std::size_t capacity_;
  const std::uint64_t mask_;
  const bool power_of_two_;
  const FullPolicy policy_;
  const std::chrono::nanoseconds stuck_timeout_;
  const std::uint64_t seed_;
  const std::size_t anchors_per_lap_;
  std::unique_ptr<Unit[]> units_;
  std::unique_ptr<Unit[]> anchors_;  // {position, offset} per boundary of a lap
  // {position, next offset}: written by claimers (CAS), read by all. On its
  // own line pair.
  alignas(detail::kFalseSharingRange) mutable Unit tail_[detail::kFalseSharingRange / sizeof(Unit)] = {};
  // The limit mark {position, offset}: written by its owner's CAS, read by
  // every marked claim. On its own line pair.
  alignas(detail::kFalseSharingRange) mutable Unit limit_[detail::kFalseSharingRange / sizeof(Unit)] = {};
};

// One reader's cursor over a FrameRing: copies each data frame's body out
// and assigns offsets densely. One thread at a time.
class FrameReader {
 public:
  explicit FrameReader(FrameRing& ring) noexcept;

  // Reads the frame at this reader's position. ok: `body` holds its bytes.
  // aborted/lost: the offsets skipped. empty: nothing yet (a claim at the
  // position that stays uncommitted for stuck_timeout is padded over, and
  // the next call reports it as aborted).
  [[nodiscard]] FrameRead try_read(std::vector<std::byte>& body);

  // Where this reader is: pass the slowest reader's position as `limit`.
  [[nodiscard]] std::uint64_t position() const noexcept {
    return position_.load(std::memory_order_acquire);  // pairs with the release in try_read
  }
  [[nodiscard]] std::int64_t next_offset() const noexcept { return next_offset_; }

 private:
  FrameRead skip(std::uint64_t length, std::int64_t first, std::uint32_t count, FrameReadStatus s);

  FrameRing& ring_;
  // Written by this reader (release, after it is done with the frames
  // before it); read by producers computing their limit (acquire).
  std::atomic<std::uint64_t> position_;
  std::int64_t next_offset_;
  FrameRing::StuckWatch watch_;
};

}  // namespace rill::ring
