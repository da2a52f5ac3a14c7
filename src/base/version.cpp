#include "rill/version_check.hpp"

namespace rill {

const char* library_version() noexcept { return kVersionString; }

}  // namespace rill
