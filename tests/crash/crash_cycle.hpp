// The crash loop's driver: for one fsync policy, runs the cycles of
// fork writer / kill it / check the directory, and prints the summary line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "rill/options.hpp"

namespace rill::crash {

struct LoopOptions {
  std::uint64_t cycles = 30;             // per policy
  std::uint64_t records_per_cycle = 400; // sends a writer makes before it idles
  std::uint64_t seed = 0;
  std::filesystem::path dir;             // each policy works in dir/<policy name>
  std::vector<FsyncPolicy> policies;
  // Each writer arms one crash point (src/log/crash_point.hpp), in turn,
  // and kills itself there; the topic has retention so that segments go.
  bool points = false;
};

[[nodiscard]] std::optional<FsyncPolicy> policy_from_name(std::string_view name) noexcept;

// Runs options.cycles cycles for options.policies[index] in a fresh
// directory, stopping at the first cycle that finds a violation. Prints
//   policy=<p> cycles=<n> acknowledged=<a> lost=0 phantoms=0 duplicates=0 ...
// and returns false if anything was violated (after printing what).
[[nodiscard]] bool run_policy(const LoopOptions& options, std::size_t index);

}  // namespace rill::crash
