// The help texts of the `rill` tool, which CLI11 asks for when -h or --help
// is given: the formatter writes them from the apps that command_line.cpp
// builds out of the command table. `rill --help` lists every command and the
// global options, `rill groups --help` a family's sub-commands, and
// `rill groups reset-offsets --help` a command's usage line, summary and
// options.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace rill::cli {

// The formatter of the tool's app; set it before adding the sub-commands,
// which share their parent's.
[[nodiscard]] std::shared_ptr<CLI::FormatterBase> make_help_formatter();

// The words that select `app` under the tool: "groups reset-offsets"
// ("" for the tool itself).
[[nodiscard]] std::string command_words(const CLI::App& app);

// The sub-commands declared under `app`, in the order they were added (none
// for a command).
[[nodiscard]] std::vector<const CLI::App*> sub_commands(const CLI::App& app);

}  // namespace rill::cli
