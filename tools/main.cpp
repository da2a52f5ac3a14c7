// The `rill` command-line tool: topics, produce, consume, dump, verify and
// consumer groups on a node's data directory. See docs/guide.md ("Command-line tool").
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "rill/error.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    const rill::cli::Invocation call = rill::cli::parse_command_line(rill::cli::all_commands(), args);
    if (call.command == nullptr) {
      fmt::print("{}", call.text);
      return rill::cli::kExitOk;
    }
    return call.command->run(call.global, call.args);
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
