// Cache-line constants shared by rill's lock-free structures.
#pragma once

#include <cstddef>

namespace rill::detail {

// The destructive-interference size used to keep independently written
// positions apart. 64 bytes on x86-64 and most ARMv8 cores; we do not use
// std::hardware_destructive_interference_size because g++ warns that its value
// may change between compiler versions, and it would then change our layouts.
inline constexpr std::size_t kCacheLine = 64;

// Padding that keeps two adjacent hot fields on separate lines even when the
// adjacent-line prefetcher pulls pairs of lines (Intel since Sandy Bridge).
inline constexpr std::size_t kFalseSharingRange = 2 * kCacheLine;

}  // namespace rill::detail
