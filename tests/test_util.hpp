// Shared helpers for rill's tests: the size knob and printed, reproducible seeds.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "rill/error.hpp"

namespace rill::test {

// RILL_TEST_SCALE multiplies the iteration counts of stress and randomized
// tests: 1 (default) for CI, larger for soak runs.
inline std::uint64_t scale() {
  const char* s = std::getenv("RILL_TEST_SCALE");
  if (s == nullptr || *s == '\0') return 1;
  const long v = std::strtol(s, nullptr, 10);
  return v > 0 ? static_cast<std::uint64_t>(v) : 1;
}

// RILL_TEST_SEED fixes the seed of randomized tests; otherwise a fresh one is
// drawn. Either way it is printed so that a failure can be reproduced.
inline std::uint64_t seed() {
  std::uint64_t value;
  if (const char* s = std::getenv("RILL_TEST_SEED"); s != nullptr && *s != '\0') {
    value = std::strtoull(s, nullptr, 10);
  } else {
    value = std::random_device{}();
  }
  UNSCOPED_INFO("seed: RILL_TEST_SEED=" << value);
  return value;
}

// Runs `call` and returns the code of the rill::Error it throws; fails the
// test if it throws nothing.
template <class Call>
ErrorCode error_of(Call&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("expected a rill::Error");
  return ErrorCode::unsupported;
}

}  // namespace rill::test
