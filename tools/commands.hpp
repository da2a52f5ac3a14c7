// The commands of the `rill` tool and the table that names them.
//
// Each command is a function from the global options and its parsed
// arguments to an exit status: kExitOk, kExitFailure (the library refused,
// the data is damaged, an I/O call failed) or kExitUsage (the tool was
// called wrongly). Commands print results to stdout and errors to stderr.
#pragma once

#include <filesystem>
#include <span>

#include "command_line.hpp"
#include "rill/node.hpp"

namespace rill::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Every command, in the order `rill --help` lists them.
[[nodiscard]] std::span<const Command> all_commands();

// Opens the node on --dir. Throws UsageError when --dir is missing or names
// something that is not a directory; rill::Error from Node::open otherwise.
// Only `create_if_missing` commands create a missing directory; `repair` is
// NodeOptions::repair.
[[nodiscard]] Node open_node(const GlobalOptions& global, bool create_if_missing, bool repair = false);
// --dir, checked: a directory (or missing, when `may_be_missing`). Throws
// UsageError otherwise.
const std::filesystem::path& data_dir(const GlobalOptions& global, bool may_be_missing);

[[nodiscard]] int run_topics_create(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_topics_list(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_topics_describe(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_topics_delete(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_produce(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_consume(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_dump(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_verify(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_groups_list(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_groups_describe(const GlobalOptions& global, const ParsedCommand& args);
[[nodiscard]] int run_groups_reset_offsets(const GlobalOptions& global, const ParsedCommand& args);

}  // namespace rill::cli
