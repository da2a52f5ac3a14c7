// Arming the library's crash points (src/log/crash_point.hpp) from a test:
// the count-th time the program passes the named point, it raises SIGKILL —
// no destructor, no flush, no atexit handler runs, as in a kill -9.
//
// Thread-safety: arm before starting threads; passing a point is safe from
// any thread (the count is atomic).
#pragma once

#include <string_view>

namespace rill::test {

// Arms "<name>:<count>" (count >= 1) by installing the library's crash
// hook; an empty spec disarms. Returns false (and arms nothing) when the
// spec is malformed.
bool arm_crash_point(std::string_view spec) noexcept;

// Whether a point is armed now.
[[nodiscard]] bool crash_point_armed() noexcept;

}  // namespace rill::test
