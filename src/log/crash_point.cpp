// crash_point (crash_point.hpp): the hook every point calls.
#include "log/crash_point.hpp"

namespace rill::log::detail {

std::atomic<CrashHook> crash_hook{nullptr};

}  // namespace rill::log::detail
