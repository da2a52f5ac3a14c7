// Fuzz target for the `rill` tool's argument parser (tools/arg_parser.hpp)
// against its real command table (tools/command_table.cpp).
//
// Byte 0 picks the command; the rest of the input, split at NUL bytes, is
// the argument list that follows the command words. Properties: parsing
// never crashes; it returns a ParsedCommand or throws UsageError with a
// non-empty message, never anything else. A parse without --help holds
// exactly the command's positionals and all its required options; every
// value belongs to an option that takes one and every flag to one that does
// not. parse_integer on each value returns a number within the limits asked
// or throws UsageError naming the option. command_help always works.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "arg_parser.hpp"
#include "commands.hpp"
#include "fuzz_util.hpp"

namespace {

using rill::fuzz::check;
using namespace rill::cli;

const OptionSpec* find(const CommandSpec& spec, std::string_view name) {
  for (const OptionSpec& o : spec.options) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

void check_parsed(const CommandSpec& spec, const ParsedCommand& parsed) {
  if (parsed.help) return;
  check(parsed.positionals.size() == spec.positionals.size());
  for (const OptionSpec& o : spec.options) check(!o.required || parsed.has(o.name));
  for (const auto& [name, value] : parsed.values) {
    const OptionSpec* o = find(spec, name);
    check(o != nullptr && !o->value_name.empty());
  }
  for (const std::string& flag : parsed.flags) {
    const OptionSpec* o = find(spec, flag);
    check(o != nullptr && o->value_name.empty());
  }
}

void check_integer(std::string_view option, std::string_view text, std::int64_t min, std::int64_t max) {
  try {
    const std::int64_t value = parse_integer(option, text, min, max);
    check(value >= min && value <= max);
  } catch (const UsageError& e) {
    check(std::string_view(e.what()).find(option) != std::string_view::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const Command> commands = all_commands();
  if (size == 0 || commands.empty()) return 0;
  const CommandSpec& spec = commands[data[0] % commands.size()].spec;
  std::vector<std::string> args;
  std::string current;
  for (std::size_t i = 1; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  if (size > 1) args.push_back(current);
  check(!command_help(spec).empty());
  ParsedCommand parsed;
  try {
    parsed = parse_command(spec, args);
  } catch (const UsageError& e) {
    check(e.what()[0] != '\0');
    return 0;
  }
  check_parsed(spec, parsed);
  for (const auto& [name, value] : parsed.values) {
    check_integer(name, value, 0, INT64_MAX);
    check_integer(name, value, 1, 4096);
    check_integer(name, value, INT64_MIN, INT64_MAX);
  }
  return 0;
}

#include "fuzz_replay.hpp"
