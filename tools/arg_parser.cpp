#include "arg_parser.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace rill::cli {

bool ParsedCommand::has(std::string_view name) const {
  return values.find(name) != values.end() ||
         std::find(flags.begin(), flags.end(), name) != flags.end();
}

std::optional<std::string> ParsedCommand::value(std::string_view name) const {
  const auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

namespace {

const OptionSpec* find_option(const CommandSpec& spec, std::string_view name) {
  for (const OptionSpec& option : spec.options) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

// Consumes one option at args[i] (and its value), advancing i.
void take_option(const CommandSpec& spec, std::span<const std::string> args, std::size_t& i,
                 ParsedCommand& out) {
  std::string_view arg = args[i];
  std::optional<std::string_view> inline_value;
  if (const auto eq = arg.find('='); eq != std::string_view::npos) {
    inline_value = arg.substr(eq + 1);
    arg = arg.substr(0, eq);
  }
  const OptionSpec* option = find_option(spec, arg);
  if (option == nullptr) {
    throw UsageError(fmt::format("unknown option '{}' for '{}' (see 'rill {} --help')", arg,
                                 spec.words, spec.words));
  }
  if (option->value_name.empty()) {
    if (inline_value) throw UsageError(fmt::format("option '{}' takes no value", arg));
    out.flags.emplace_back(arg);
    return;
  }
  if (!inline_value) {
    if (i + 1 >= args.size()) {
      throw UsageError(fmt::format("option '{}' needs a value ({})", arg, option->value_name));
    }
    inline_value = args[++i];
  }
  if (out.values.find(arg) != out.values.end()) {
    throw UsageError(fmt::format("option '{}' given twice", arg));
  }
  out.values.emplace(std::string(arg), std::string(*inline_value));
}

}  // namespace

ParsedCommand parse_command(const CommandSpec& spec, std::span<const std::string> args) {
  ParsedCommand out;
  if (std::find_if(args.begin(), args.end(), [](const std::string& a) {
        return a == "--help" || a == "-h";
      }) != args.end()) {
    out.help = true;
    return out;
  }
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!options_done && arg == "--") {
      options_done = true;
    } else if (!options_done && arg.size() > 1 && arg[0] == '-') {
      take_option(spec, args, i, out);
    } else {
      out.positionals.push_back(arg);
    }
  }
  if (out.positionals.size() < spec.positionals.size()) {
    throw UsageError(fmt::format("'{}' needs {} (see 'rill {} --help')", spec.words,
                                 spec.positionals[out.positionals.size()], spec.words));
  }
  if (out.positionals.size() > spec.positionals.size()) {
    throw UsageError(fmt::format("unexpected argument '{}' for '{}'",
                                 out.positionals[spec.positionals.size()], spec.words));
  }
  for (const OptionSpec& option : spec.options) {
    if (option.required && !out.has(option.name)) {
      throw UsageError(fmt::format("'{}' needs option '{} {}'", spec.words, option.name,
                                   option.value_name));
    }
  }
  return out;
}

std::string command_help(const CommandSpec& spec) {
  std::string text = fmt::format("usage: rill --dir DIR {}", spec.words);
  for (std::string_view p : spec.positionals) text += fmt::format(" {}", p);
  if (!spec.options.empty()) text += " [options]";
  text += fmt::format("\n\n{}\n", spec.summary);
  if (!spec.options.empty()) text += "\noptions:\n";
  for (const OptionSpec& option : spec.options) {
    const std::string left = option.value_name.empty()
                                 ? std::string(option.name)
                                 : fmt::format("{} {}", option.name, option.value_name);
    text += fmt::format("  {:<28} {}{}\n", left, option.help, option.required ? " (required)" : "");
  }
  text += fmt::format("  {:<28} {}\n", "--help", "show this help");
  return text;
}

std::int64_t parse_integer(std::string_view option, std::string_view text, std::int64_t min,
                           std::int64_t max) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    throw UsageError(fmt::format("option '{}': '{}' is not a whole number", option, text));
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    throw UsageError(
        fmt::format("option '{}': {} is out of range ({} to {})", option, text, min, max));
  }
  return value;
}

}  // namespace rill::cli
