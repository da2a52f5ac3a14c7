// The implementation of rill/inspect.hpp (the read-only inspection that
// `rill verify` and `rill dump` print), and its walker over one segment's
// bytes, which the fuzz target calls directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "rill/inspect.hpp"

namespace rill::log {

// Walks the batches of one segment file's bytes (problems are not judged).
// `gaps_allowed`: a batch may start above the expected offset (a compacted
// folder).
[[nodiscard]] SegmentReport inspect_segment_bytes(std::span<const std::byte> bytes,
                                                  std::optional<std::int64_t> base_offset, bool gaps_allowed,
                                                  const InspectProgress& progress = {});

// The ".log" segment files of a partition folder with their base offsets,
// oldest first. Throws Error(io) when the folder cannot be listed.
[[nodiscard]] std::vector<std::pair<std::int64_t, std::filesystem::path>> segment_files(
    const std::filesystem::path& folder);

}  // namespace rill::log
