// The implementation of rill/inspect.hpp (the read-only inspection that
// `rill verify` and `rill dump` print), and its walker over one segment's
// bytes, which the fuzz target calls directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "rill/inspect.hpp"

namespace rill::log {

// Walks the batches of one segment file's bytes (problems are not judged).
// `gaps_allowed`: a batch may start above the expected offset (a compacted
// folder).
[[nodiscard]] SegmentReport inspect_segment_bytes(std::span<const std::byte> bytes,
                                                  std::optional<std::int64_t> base_offset, bool gaps_allowed,
                                                  const InspectProgress& progress = {});

}  // namespace rill::log
