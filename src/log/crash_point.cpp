// crash_point (crash_point.hpp).
#include "log/crash_point.hpp"

#include <signal.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace rill::log::detail {

std::atomic<bool> crash_points_armed{false};

namespace {

constexpr std::size_t kMaxName = 63;

// The armed point. Written only by arm_crash_point, before the points run.
char armed_name[kMaxName + 1] = {};
// Passes left before the kill; decremented by every pass of the armed point.
std::atomic<std::int64_t> passes_left{0};

// Reads RILL_CRASH_POINT once, when the library is loaded.
const bool armed_from_environment = [] {
  const char* spec = std::getenv("RILL_CRASH_POINT");
  return spec != nullptr && arm_crash_point(spec);
}();

}  // namespace

bool arm_crash_point(std::string_view spec) noexcept {
  // relaxed: arming happens before any thread passes a point.
  crash_points_armed.store(false, std::memory_order_relaxed);
  if (spec.empty()) return true;
  const std::size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon > kMaxName) return false;
  std::int64_t count = 0;
  const char* first = spec.data() + colon + 1;
  const char* last = spec.data() + spec.size();
  const auto [end, error] = std::from_chars(first, last, count);
  if (error != std::errc() || end != last || count < 1) return false;
  std::memcpy(armed_name, spec.data(), colon);
  armed_name[colon] = '\0';
  passes_left.store(count, std::memory_order_relaxed);
  crash_points_armed.store(true, std::memory_order_relaxed);
  return true;
}

void crash_point_slow(const char* name) noexcept {
  if (std::strcmp(name, armed_name) != 0) return;
  // relaxed: only the count matters; the kill ends every thread at once.
  if (passes_left.fetch_sub(1, std::memory_order_relaxed) == 1) ::raise(SIGKILL);
}

}  // namespace rill::log::detail
