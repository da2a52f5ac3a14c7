// Helpers of the ring tests: a lifetime-counting element type that counts
// live instances and catches destroys of objects that are already dead,
// and the drain/range verbs of the queue tests.
#pragma once

#include <cstdint>
#include <vector>

namespace rill::test {

struct Counted {
  static constexpr std::uint32_t kLive = 0x11FE11FE;
  static constexpr std::uint32_t kDead = 0xDEADDEAD;
  static inline int alive = 0;
  static inline int bad_destroys = 0;

  int value = 0;
  std::uint32_t state = kLive;

  explicit Counted(int v = 0) : value(v) { ++alive; }
  Counted(const Counted& other) : value(other.value) { ++alive; }
  Counted(Counted&& other) noexcept : value(other.value) { ++alive; }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) noexcept = default;
  ~Counted() {
    if (state != kLive) ++bad_destroys;
    state = kDead;
    --alive;
  }
};

// Pops every item of `ring` (try_pop until false), in the order they come.
template <class Ring>
std::vector<int> drain(Ring& ring) {
  std::vector<int> out;
  int value = 0;
  while (ring.try_pop(value)) out.push_back(value);
  return out;
}

// first, first + 1, ..., first + count - 1.
inline std::vector<int> range(int first, int count) {
  std::vector<int> values;
  for (int i = 0; i < count; ++i) values.push_back(first + i);
  return values;
}

}  // namespace rill::test
