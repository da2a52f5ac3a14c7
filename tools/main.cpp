// The `rill` command-line tool: topics, produce, consume, dump and verify on
// a node's data directory. See docs/guide.md ("Command-line tool").
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "rill/error.hpp"
#include "rill/version.hpp"

namespace rill::cli {
namespace {

void print_tool_help(std::FILE* to) {
  fmt::print(to, "usage: rill --dir DIR COMMAND [ARGS] [OPTIONS]\n\n"
                 "Administers, writes and reads the topics of a rill data directory.\n\n"
                 "commands:\n");
  for (const Command& command : all_commands()) {
    const auto first_line = command.spec.summary.substr(0, command.spec.summary.find('\n'));
    fmt::print(to, "  {:<18} {}\n", command.spec.words, first_line);
  }
  fmt::print(to, "\nglobal options:\n"
                 "  --dir DIR          the data directory (a node's directory)\n"
                 "  --help             this help; 'rill COMMAND --help' for a command's\n"
                 "  --version          the tool's version\n");
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

// "rill topics" alone, or with an unknown sub-command.
[[noreturn]] void unknown_command(const std::vector<std::string>& args, std::size_t at) {
  if (args[at] == "topics") {
    if (at + 1 >= args.size()) throw UsageError("'topics' needs a sub-command: create, list, describe or delete");
    throw UsageError(fmt::format("unknown command 'topics {}' (create, list, describe or delete)",
                                 args[at + 1]));
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
  if (args[at] == "topics" && at + 1 < args.size() && (args[at + 1] == "--help" || args[at + 1] == "-h")) {
    print_tool_help(stdout);
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
