// The command line of the `rill` tool, read with CLI11.
//
// Each command is declared once, as a CommandSpec in the table of
// command_table.cpp: its words ("topics create"), its positional arguments
// and its options. parse_command_line() turns the table into a CLI11 app
// with a sub-command per word, lets CLI11 read the arguments ("--opt value",
// "--opt=value", "--" ending the options, -h or --help), then checks
// what it found and reports any mistake in the tool's own words: a
// UsageError whose message names the bad option, value or argument, which
// the tool prints before exiting with kExitUsage. Integer options are checked
// against their range while CLI11 reads them. Nothing here touches the
// library: it is plain string work, easy to test and to fuzz.
#pragma once

#include <cstdint>
#include <filesystem>
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

// The values an integer option accepts, both ends included.
struct IntegerRange {
  std::int64_t min;
  std::int64_t max;
};

struct OptionSpec {
  std::string_view name;        // with its dashes: "--partitions"
  std::string_view value_name;  // "N"; empty for a flag that takes no value
  std::string_view help;
  bool required = false;
  std::optional<IntegerRange> range = std::nullopt;  // set: the value is a whole number in this range
};

struct CommandSpec {
  std::string_view words;                     // "topics create"
  std::vector<std::string_view> positionals;  // "NAME", ... (all required)
  std::vector<OptionSpec> options;
  std::string_view summary;  // its first line is the command's line in `rill --help`
};

// The arguments a command was given. Options are keyed by their name with
// dashes.
struct ParsedCommand {
  std::map<std::string, std::string, std::less<>> values;  // options with a value
  std::vector<std::string> flags;                          // flags given
  std::vector<std::string> positionals;                    // one per CommandSpec::positionals

  [[nodiscard]] bool has(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> value(std::string_view name) const;
  // The value of an integer option (already checked against its range), or
  // nullopt when it was not given. Throws UsageError when it is not a whole
  // number.
  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view name) const;
};

// Options given before the command words.
struct GlobalOptions {
  std::optional<std::filesystem::path> dir;  // --dir
};

using CommandFunction = int (*)(const GlobalOptions& global, const ParsedCommand& args);

struct Command {
  CommandSpec spec;
  CommandFunction run;
};

// What a command line asks for: a command to run with its arguments, or a
// text to print (help or version) and nothing else.
struct Invocation {
  GlobalOptions global = {};
  const Command* command = nullptr;  // null when `text` is the whole answer
  ParsedCommand args = {};
  std::string text;  // --help, -h, `rill help` or --version: print it and exit with 0
};

// Reads `args` (argv without the program name) against `commands`: the
// global options (--dir DIR, --help, --version), then the words of one
// command and that command's positionals and options. Throws UsageError for
// anything else: a missing or unknown command or sub-command, an unknown
// option, a missing value, an option given twice, a value given to a flag, a
// missing or extra positional, a missing required option, an integer option
// that is not a whole number in its range.
[[nodiscard]] Invocation parse_command_line(std::span<const Command> commands,
                                            std::span<const std::string> args);

// The decimal integer `text` given to `option`, in [min, max]. Throws
// UsageError naming the option for anything else ("abc", "", "1x", 0 when
// min is 1, overflow).
[[nodiscard]] std::int64_t parse_integer(std::string_view option, std::string_view text,
                                         std::int64_t min, std::int64_t max);

}  // namespace rill::cli
