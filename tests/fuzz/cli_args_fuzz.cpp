// Fuzz target for the `rill` tool's command line (tools/command_line.hpp,
// read with CLI11) against its real command table (tools/command_table.cpp).
//
// Byte 0 picks the command: its low 7 bits modulo (number of commands + 1)
// index the table, whose words ("topics create") then start the command
// line; the one value past the table adds no words, so that the rest is the
// whole command line. Bit 7 puts "--dir data" in front. The rest of the
// input, split at NUL bytes, is the list of arguments that follows.
//
// Properties: parsing never crashes; it returns an Invocation or throws
// UsageError with a non-empty message, never anything else. An Invocation
// either holds a text to print (help, version), or a command of the table
// (the one picked, when one was) with exactly its positionals and all its
// required options, every value belonging to an option that takes one and
// every flag to one that does not, every integer option within its range
// and --dir, when given, not empty. parse_integer on each value returns a
// number within the limits asked or throws UsageError naming the option.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "command_line.hpp"
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
  check(parsed.positionals.size() == spec.positionals.size());
  for (const OptionSpec& o : spec.options) check(!o.required || parsed.has(o.name));
  for (const auto& [name, value] : parsed.values) {
    const OptionSpec* o = find(spec, name);
    check(o != nullptr && !o->value_name.empty());
    if (o->range) {
      const std::int64_t number = *parsed.integer(name);
      check(number >= o->range->min && number <= o->range->max);
    }
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

// The command words that byte 0 picks (none past the end of the table).
std::vector<std::string> picked_words(std::span<const Command> commands, std::size_t pick) {
  std::vector<std::string> words;
  if (pick == commands.size()) return words;
  const std::string_view all = commands[pick].spec.words;
  for (std::size_t at = 0; at <= all.size();) {
    const std::size_t space = std::min(all.find(' ', at), all.size());
    words.emplace_back(all.substr(at, space - at));
    at = space + 1;
  }
  return words;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const Command> commands = all_commands();
  if (size == 0 || commands.empty()) return 0;
  const std::size_t pick = (data[0] & 0x7f) % (commands.size() + 1);
  std::vector<std::string> args;
  if ((data[0] & 0x80) != 0) args = {"--dir", "data"};
  for (std::string& word : picked_words(commands, pick)) args.push_back(std::move(word));
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
  Invocation call;
  try {
    call = parse_command_line(commands, args);
  } catch (const UsageError& e) {
    check(e.what()[0] != '\0');
    return 0;
  }
  if (call.command == nullptr) {
    check(!call.text.empty());
    return 0;
  }
  check(call.command >= commands.data() && call.command < commands.data() + commands.size());
  check(pick == commands.size() || call.command == &commands[pick]);
  check(!call.global.dir || !call.global.dir->empty());
  check_parsed(call.command->spec, call.args);
  for (const auto& [name, value] : call.args.values) {
    check_integer(name, value, 0, INT64_MAX);
    check_integer(name, value, 1, 4096);
    check_integer(name, value, INT64_MIN, INT64_MAX);
  }
  return 0;
}

#include "fuzz_replay.hpp"
