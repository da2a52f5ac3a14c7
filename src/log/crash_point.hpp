// crash_point: named places in the log code where a crash test can make the
// process kill itself, to land a crash exactly between two steps that a
// random kill would rarely separate (a batch copied but not published, a
// segment file created but its directory not synced, a .log unlinked but not
// its indexes).
//
// Arming: RILL_CRASH_POINT=<name>:<count> in the environment when the
// process starts, or arm_crash_point("<name>:<count>") (a forked child that
// must not inherit its parent's choice calls it before opening anything).
// The count-th time the program passes crash_point("<name>") it raises
// SIGKILL: no destructor, no flush, no atexit handler runs, as in a kill -9.
// The points are listed in docs/guarantees.md.
//
// Cost: unarmed, crash_point() is one load of a global flag and a branch
// that is always predicted; it is compiled into every build (the crash loop
// runs against release builds). Not for production use: only tests arm it.
//
// Thread-safety: arm before starting threads; passing a point is safe from
// any thread (the count is atomic).
#pragma once

#include <atomic>
#include <string_view>

namespace rill::log::detail {

// Written by arm_crash_point (before other threads run), read by crash_point.
extern std::atomic<bool> crash_points_armed;

// Counts a pass of the armed point `name`; raises SIGKILL on the chosen pass.
void crash_point_slow(const char* name) noexcept;

inline void crash_point(const char* name) noexcept {
  // relaxed: the flag is set before any thread that passes a point starts.
  if (crash_points_armed.load(std::memory_order_relaxed)) [[unlikely]] crash_point_slow(name);
}

// Arms "<name>:<count>" (count >= 1); an empty spec disarms. Returns false
// (and arms nothing) when the spec is malformed.
bool arm_crash_point(std::string_view spec) noexcept;

}  // namespace rill::log::detail
