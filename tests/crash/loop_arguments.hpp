// Command-line helpers shared by the crash and power-loss loops.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>

namespace rill::crash {

// The decimal number `text` spells, or nullopt when it is not one.
[[nodiscard]] inline std::optional<std::uint64_t> parse_number(const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') return std::nullopt;
  return value;
}

// The RILL_TEST_SCALE knob (a positive integer, default 1): the loops
// multiply their cycle counts by it.
[[nodiscard]] inline std::uint64_t test_scale() {
  const char* text = std::getenv("RILL_TEST_SCALE");
  if (text == nullptr || *text == '\0') return 1;
  const long value = std::strtol(text, nullptr, 10);
  return value > 0 ? static_cast<std::uint64_t>(value) : 1;
}

}  // namespace rill::crash
