// The crash loop's driver: for one fsync policy, runs the cycles of
// fork writer / kill it / check the directory, and prints the summary line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "crash_writer.hpp"
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
  // compact: a compacted topic, each writer armed to kill itself in a
  // compaction pass (cleaner.before_rename). idempotent: an idempotent
  // producer that resends after each restart what the log lacks.
  WriteMode mode = WriteMode::plain;
  // Every this many cycles (0: never) a policy starts over in an empty
  // directory with an empty ledger, so that each check reads a bounded log
  // and a long run costs time linear in its cycles.
  std::uint64_t fresh_every = 250;
};

[[nodiscard]] std::optional<FsyncPolicy> policy_from_name(std::string_view name) noexcept;

// The command-line flag of the loop's mode (" --compact" ...), "" for none.
[[nodiscard]] const char* mode_flag(const LoopOptions& options) noexcept;

// Runs options.cycles cycles for options.policies[index] in a fresh
// directory, stopping at the first cycle that finds a violation. Prints
//   policy=<p> cycles=<n> acknowledged=<a> lost=0 phantoms=0 duplicates=0 ...
// (with the mode's own counts at the end) and returns false if anything
// was violated (after printing what).
[[nodiscard]] bool run_policy(const LoopOptions& options, std::size_t index);

}  // namespace rill::crash
