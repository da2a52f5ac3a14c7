// Arming crash points (crash_points.hpp).
#include "support/crash_points.hpp"

#include <signal.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "log/crash_point.hpp"

namespace rill::test {
namespace {

constexpr std::size_t kMaxName = 63;

// The armed point. Written only by arm_crash_point, before the points run.
char armed_name[kMaxName + 1] = {};
// Passes left before the kill; decremented by every pass of the armed point.
std::atomic<std::int64_t> passes_left{0};

void count_pass(const char* name) noexcept {
  if (std::strcmp(name, armed_name) != 0) return;
  // relaxed: only the count matters; the kill ends every thread at once.
  if (passes_left.fetch_sub(1, std::memory_order_relaxed) == 1) ::raise(SIGKILL);
}

}  // namespace

bool arm_crash_point(std::string_view spec) noexcept {
  log::detail::set_crash_hook(nullptr);
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
  // relaxed: arming happens before any thread passes a point.
  passes_left.store(count, std::memory_order_relaxed);
  log::detail::set_crash_hook(&count_pass);
  return true;
}

bool crash_point_armed() noexcept {
  // relaxed: read by the arming thread.
  return log::detail::crash_hook.load(std::memory_order_relaxed) != nullptr;
}

}  // namespace rill::test
