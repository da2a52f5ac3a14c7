// The `rill` command-line tool: topics, produce, consume, dump, verify and
// consumer groups on a node's data directory. See docs/guide.md ("Command-line tool").
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "rill/error.hpp"
#include "rill/version.hpp"

namespace rill::cli {
namespace {

void print_tool_help(std::FILE* to) {
  fmt::print(to, "usage: rill --dir DIR COMMAND [ARGS] [OPTIONS]\n\n"
                 "Administers, writes and reads the topics and consumer groups of a rill data\n"
                 "directory.\n\n"
                 "commands:\n");
  for (const Command& command : all_commands()) {
    const auto first_line = command.spec.summary.substr(0, command.spec.summary.find('\n'));
    fmt::print(to, "  {:<22} {}\n", command.spec.words, first_line);
  }
  fmt::print(to, "\nglobal options:\n"
                 "  --dir DIR              the data directory (a node's directory)\n"
                 "  --help                 this help; 'rill COMMAND --help' for a command's\n"
                 "  --version              the tool's version\n");
}

// Takes the global options off the front of `args`; returns how many it took.
std::size_t parse_global(const std::vector<std::string>& args, GlobalOptions& global) {
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--dir") {
      if (i + 1 >= args.size()) throw UsageError("option '--dir' needs a value (DIR)");
      global.dir = args[++i];
    } else if (arg.rfind("--dir=", 0) == 0) {
      global.dir = arg.substr(6);
    } else {
      break;
    }
    if (global.dir->empty()) throw UsageError("option '--dir' needs a non-empty value");
  }
  return i;
}

// The command whose words start `args` (the longest match), or null.
const Command* find_command(const std::vector<std::string>& args, std::size_t at, std::size_t& words) {
  const Command* best = nullptr;
  for (const Command& command : all_commands()) {
    std::string joined;
    std::size_t n = 0;
    while (at + n < args.size() && joined.size() < command.spec.words.size()) {
      joined += (n == 0 ? "" : " ") + args[at + n];
      ++n;
    }
    if (joined == command.spec.words && (best == nullptr || n > words)) {
      best = &command;
      words = n;
    }
  }
  return best;
}

// The sub-command words of `family`, in table order: {"create", "list", ...}.
std::vector<std::string> sub_commands(std::string_view family) {
  std::vector<std::string> subs;
  for (const Command& command : all_commands()) {
    const std::string_view words = command.spec.words;
    if (words.size() > family.size() && words.substr(0, family.size()) == family && words[family.size()] == ' ') {
      subs.emplace_back(words.substr(family.size() + 1));
    }
  }
  return subs;
}

// "create, list, describe or delete"
std::string sub_command_list(std::string_view family) {
  const std::vector<std::string> subs = sub_commands(family);
  std::string text;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == subs.size() ? " or " : ", ") + subs[i];
  }
  return text;
}

// "rill groups --help": the family's sub-commands.
void print_family_help(std::string_view family) {
  fmt::print("usage: rill --dir DIR {} SUB-COMMAND [ARGS] [OPTIONS]\n\nsub-commands:\n", family);
  for (const Command& command : all_commands()) {
    const std::string_view words = command.spec.words;
    if (words.substr(0, family.size() + 1) != fmt::format("{} ", family)) continue;
    const auto first_line = command.spec.summary.substr(0, command.spec.summary.find('\n'));
    fmt::print("  {:<18} {}\n", words.substr(family.size() + 1), first_line);
  }
  fmt::print("\n'rill {} SUB-COMMAND --help' shows a sub-command's arguments and options.\n", family);
}

// "rill topics" alone, or with an unknown sub-command.
[[noreturn]] void unknown_command(const std::vector<std::string>& args, std::size_t at) {
  if (is_command_family(args[at])) {
    if (at + 1 >= args.size()) {
      throw UsageError(fmt::format("'{}' needs a sub-command: {}", args[at], sub_command_list(args[at])));
    }
    throw UsageError(fmt::format("unknown command '{} {}' ({})", args[at], args[at + 1], sub_command_list(args[at])));
  }
  throw UsageError(fmt::format("unknown command '{}' (see 'rill --help')", args[at]));
}

int run(const std::vector<std::string>& args) {
  GlobalOptions global;
  const std::size_t at = parse_global(args, global);
  if (at >= args.size()) throw UsageError("missing command (see 'rill --help')");
  if (args[at] == "--help" || args[at] == "-h" || args[at] == "help") {
    print_tool_help(stdout);
    return kExitOk;
  }
  if (args[at] == "--version") {
    fmt::print("rill {}\n", RILL_VERSION_STRING);
    return kExitOk;
  }
  if (is_command_family(args[at]) && at + 1 < args.size() && (args[at + 1] == "--help" || args[at + 1] == "-h")) {
    print_family_help(args[at]);
    return kExitOk;
  }
  if (args[at].rfind("-", 0) == 0) {
    throw UsageError(fmt::format("unknown option '{}' (see 'rill --help')", args[at]));
  }
  std::size_t words = 0;
  const Command* command = find_command(args, at, words);
  if (command == nullptr) unknown_command(args, at);
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(at + words), args.end());
  const ParsedCommand parsed = parse_command(command->spec, rest);
  if (parsed.help) {
    fmt::print("{}", command_help(command->spec));
    return kExitOk;
  }
  return command->run(global, parsed);
}

}  // namespace
}  // namespace rill::cli

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return rill::cli::run(args);
  } catch (const rill::cli::UsageError& e) {
    fmt::print(stderr, "rill: {}\n", e.what());
    return rill::cli::kExitUsage;
  } catch (const rill::Error& e) {
    fmt::print(stderr, "rill: error ({}): {}\n", rill::to_string(e.code()), e.what());
    return rill::cli::kExitFailure;
  } catch (const std::exception& e) {
    fmt::print(stderr, "rill: error: {}\n", e.what());
    return rill::cli::kExitFailure;
  }
}
