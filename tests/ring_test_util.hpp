// A lifetime-counting element type for the ring tests: counts live
// instances and catches destroys of objects that are already dead.
#pragma once

#include <cstdint>

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

}  // namespace rill::test
