// A small table-driven command-line parser for the `rill` tool.
//
// Each command is described by a CommandSpec: its words ("topics create"),
// its positional arguments and a table of OptionSpec. parse_command() checks
// argv against that table and returns the values it found; any mistake
// (unknown option, missing value, missing or extra positional) throws
// UsageError with a message meant for the user. parse_integer() turns an
// option's text into a number within limits, with the same kind of error.
// Nothing here touches the library: it is plain string work, easy to test.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rill::cli {

// A mistake in how the tool was called; the tool prints it and exits with 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  std::string_view name;        // with its dashes: "--partitions"
  std::string_view value_name;  // "N"; empty for a flag that takes no value
  std::string_view help;
  bool required = false;
};

struct CommandSpec {
  std::string_view words;                        // "topics create"
  std::vector<std::string_view> positionals;     // "NAME", ... (all required)
  std::vector<OptionSpec> options;
  std::string_view summary;
};

// What parse_command found. Options are keyed by their name with dashes.
struct ParsedCommand {
  std::map<std::string, std::string, std::less<>> values;  // options with a value
  std::vector<std::string> flags;                          // flags given
  std::vector<std::string> positionals;
  bool help = false;  // --help or -h was given: nothing else was checked

  [[nodiscard]] bool has(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> value(std::string_view name) const;
};

// Parses the arguments that follow the command words. Accepts "--opt value"
// and "--opt=value"; "--" ends the options. Throws UsageError.
[[nodiscard]] ParsedCommand parse_command(const CommandSpec& spec, std::span<const std::string> args);

// The command's help text: usage line, summary and option table.
[[nodiscard]] std::string command_help(const CommandSpec& spec);

// The decimal integer `text` given to `option`, in [min, max]. Throws
// UsageError naming the option for anything else ("abc", "", "1x", 0 when
// min is 1, overflow).
[[nodiscard]] std::int64_t parse_integer(std::string_view option, std::string_view text,
                                         std::int64_t min, std::int64_t max);

}  // namespace rill::cli
