// The version of the compiled library, to detect a program built against
// headers of one rill version and linked with the library of another.
#pragma once

#include "rill/version.hpp"

namespace rill {

// Returns the version string of the linked library, e.g. "0.1.0".
const char* library_version() noexcept;

// True when the headers this translation unit sees match the linked library.
inline bool library_matches_headers() noexcept {
  const char* lib = library_version();
  const char* hdr = kVersionString;
  while (*lib != '\0' && *lib == *hdr) {
    ++lib;
    ++hdr;
  }
  return *lib == *hdr;
}

}  // namespace rill
