// crash_point: named places in the log code where a crash test can stop the
// process, to land a crash exactly between two steps that a random kill
// would rarely separate (a batch copied but not published, a segment file
// created but its directory not synced, a .log unlinked but not its
// indexes). The points are listed in docs/guarantees.md.
//
// The library only offers the seam: crash_point(name) calls the hook a
// test installed with set_crash_hook, and does nothing otherwise. The hook
// that counts passes and raises SIGKILL lives with the tests
// (tests/support/crash_points.hpp); nothing in an installed program arms it.
//
// Cost: without a hook, crash_point() is one relaxed load of a pointer and a
// branch that is always predicted; it is compiled into every build (the
// crash loop runs against release builds).
//
// Thread-safety: install the hook before starting threads; passing a point
// is safe from any thread (the hook must be too).
#pragma once

#include <atomic>

namespace rill::log::detail {

// Called with the point's name each time a thread passes it.
using CrashHook = void (*)(const char* name) noexcept;

// Written by set_crash_hook (before other threads run), read by crash_point.
extern std::atomic<CrashHook> crash_hook;

inline void crash_point(const char* name) noexcept {
  // relaxed: the hook is installed before any thread that passes a point
  // starts (thread creation orders it), and is a plain function.
  if (const CrashHook hook = crash_hook.load(std::memory_order_relaxed)) [[unlikely]] hook(name);
}

// Installs `hook` (nullptr removes it).
inline void set_crash_hook(CrashHook hook) noexcept {
  // relaxed: see crash_point.
  crash_hook.store(hook, std::memory_order_relaxed);
}

}  // namespace rill::log::detail
