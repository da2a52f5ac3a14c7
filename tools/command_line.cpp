#include "command_line.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "help_formatter.hpp"
#include "rill/version.hpp"

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

std::optional<std::int64_t> ParsedCommand::integer(std::string_view name) const {
  const auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return parse_integer(name, it->second, std::numeric_limits<std::int64_t>::min(),
                       std::numeric_limits<std::int64_t>::max());
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

namespace {

constexpr std::string_view kToolSummary =
    "Administers, writes and reads the topics and consumer groups of a rill data\ndirectory.";

// What CLI11 records for a flag given bare ("--follow"); "--follow=yes"
// records "yes", which the tool refuses.
constexpr std::string_view kBareFlag = "true";

// The first argument that CLI11 left over under one app: an unknown option
// or a surplus positional (after "--", anything is a positional).
struct Extra {
  std::string text;
  bool is_option;
};

std::optional<Extra> first_extra(const CLI::App& app) {
  bool after_mark = false;
  for (std::string& text : app.remaining()) {
    if (text == "--") {
      after_mark = true;
      continue;
    }
    const bool is_option = !after_mark && text.size() > 1 && text[0] == '-';
    // An unknown "--opt=value" is named without its value.
    if (is_option) text = text.substr(0, text.find('='));
    return Extra{std::move(text), is_option};
  }
  return std::nullopt;
}

// The sub-command that CLI11 selected under `app`, or null.
CLI::App* selected(const CLI::App& app) {
  const std::vector<CLI::App*> subs = app.get_subcommands();
  return subs.empty() ? nullptr : subs.front();
}

// "create, list, describe or delete"
std::string sub_command_list(const CLI::App& family) {
  const std::vector<const CLI::App*> subs = sub_commands(family);
  std::string text;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    text += (i == 0 ? "" : i + 1 == subs.size() ? " or " : ", ") + subs[i]->get_name();
  }
  return text;
}

// Unknown options and surplus positionals fall to the app they were met
// under (the tool checks them itself, in its words); a family or the tool
// selects at most one sub-command, so that a later word that names another
// one (a topic called "list") is an argument.
CLI::App* configure(CLI::App* app) {
  app->allow_extras();
  app->require_subcommand(0, 1);
  return app;
}

// A CLI11 check that the value of `option` is a whole number in `range`; it
// throws UsageError (CLI11 lets it through), so that the message is the
// tool's own.
CLI::Validator integer_check(std::string_view option, IntegerRange range) {
  return CLI::Validator(
      [option, range](std::string& text) {
        (void)parse_integer(option, text, range.min, range.max);
        return std::string();
      },
      "");
}

void add_options(CLI::App& app, const CommandSpec& spec) {
  app.set_help_flag("-h,--help", "show this help");
  for (std::string_view positional : spec.positionals) app.add_option(std::string(positional))->required();
  for (const OptionSpec& o : spec.options) {
    const std::string name(o.name);
    if (o.value_name.empty()) {
      app.add_flag(name)->description(std::string(o.help));
      continue;
    }
    // Every occurrence is kept, for "given twice".
    CLI::Option* option = app.add_option(name)
                              ->description(std::string(o.help))
                              ->type_name(std::string(o.value_name))
                              ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                              ->required(o.required);
    if (o.range) option->check(integer_check(o.name, *o.range));
  }
}

// Reads a command's arguments out of its app, once CLI11 has parsed.
ParsedCommand read_command(const CLI::App& app, const CommandSpec& spec) {
  if (const std::optional<Extra> extra = first_extra(app)) {
    if (extra->is_option) {
      throw UsageError(fmt::format("unknown option '{}' for '{}' (see 'rill {} --help')", extra->text,
                                   spec.words, spec.words));
    }
    throw UsageError(fmt::format("unexpected argument '{}' for '{}'", extra->text, spec.words));
  }
  ParsedCommand out;
  for (const OptionSpec& o : spec.options) {
    const std::vector<std::string>& results = app.get_option(std::string(o.name))->results();
    if (o.value_name.empty()) {
      for (const std::string& result : results) {
        if (result != kBareFlag) throw UsageError(fmt::format("option '{}' takes no value", o.name));
      }
      if (!results.empty()) out.flags.emplace_back(o.name);
    } else if (results.size() > 1) {
      throw UsageError(fmt::format("option '{}' given twice", o.name));
    } else if (results.size() == 1) {
      out.values.emplace(std::string(o.name), results.front());
    }
  }
  for (std::string_view positional : spec.positionals) {
    const std::vector<std::string>& results = app.get_option(std::string(positional))->results();
    if (results.empty()) {
      throw UsageError(fmt::format("'{}' needs {} (see 'rill {} --help')", spec.words, positional, spec.words));
    }
    out.positionals.push_back(results.front());
  }
  for (const OptionSpec& o : spec.options) {
    if (o.required && !out.has(o.name)) {
      throw UsageError(fmt::format("'{}' needs option '{} {}'", spec.words, o.name, o.value_name));
    }
  }
  return out;
}

// The tool's app, with a sub-command per word of the table's commands.
class CommandLine {
 public:
  explicit CommandLine(std::span<const Command> commands)
      : tool_(std::string(kToolSummary), "rill") {
    tool_.formatter(make_help_formatter());
    tool_.set_help_flag("-h,--help", "this help; 'rill COMMAND --help' for a command's");
    dir_ = tool_.add_option("--dir")
               ->description("the data directory (a node's directory)")
               ->type_name("DIR")
               ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    tool_.set_version_flag("--version", fmt::format("rill {}", RILL_VERSION_STRING), "the tool's version");
    configure(&tool_);
    value_options_.insert("--dir");
    for (const Command& command : commands) add_command(command);
  }

  Invocation parse(std::span<const std::string> args) {
    std::vector<std::string> reversed = with_empty_values_apart(args);
    std::reverse(reversed.begin(), reversed.end());  // CLI11 takes the last argument first
    try {
      tool_.parse(reversed);
    } catch (const CLI::CallForHelp&) {
      return Invocation{.text = tool_.help()};
    } catch (const CLI::CallForVersion& e) {
      return Invocation{.text = fmt::format("{}\n", e.what())};
    } catch (const CLI::RequiredError&) {
      // A positional or required option is missing: read_command() names it
      // (after any unknown option, which CLI11 does not look at first).
    } catch (const CLI::ArgumentMismatch& e) {
      throw missing_value(args, e);
    } catch (const CLI::ParseError& e) {
      throw UsageError(e.what());
    }
    return invocation();
  }

 private:
  void add_command(const Command& command) {
    CLI::App* app = &tool_;
    std::string_view words = command.spec.words;
    for (std::size_t space = words.find(' '); space != std::string_view::npos; space = words.find(' ')) {
      app = family(*app, std::string(words.substr(0, space)));
      words.remove_prefix(space + 1);
    }
    app = configure(app->add_subcommand(std::string(words), std::string(command.spec.summary)));
    add_options(*app, command.spec);
    commands_.emplace_back(app, &command);
    for (const OptionSpec& o : command.spec.options) {
      if (!o.value_name.empty()) value_options_.emplace(o.name);
    }
  }

  // The family `word` under `parent`, made on first use.
  static CLI::App* family(CLI::App& parent, const std::string& word) {
    for (CLI::App* sub : parent.get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == word) return sub;
    }
    return configure(parent.add_subcommand(word));
  }

  // CLI11 reads "--topic=" as "--topic" with its value still to come; the
  // tool reads it, as it always has, as the empty value (which the command
  // then refuses by name). Such an argument goes to CLI11 as the option and
  // an empty argument. "--" ends the options.
  std::vector<std::string> with_empty_values_apart(std::span<const std::string> args) const {
    std::vector<std::string> out;
    bool options_done = false;
    for (const std::string& arg : args) {
      options_done = options_done || arg == "--";
      if (!options_done && arg.size() > 1 && arg.back() == '=' &&
          value_options_.count(arg.substr(0, arg.size() - 1)) != 0) {
        out.push_back(arg.substr(0, arg.size() - 1));
        out.emplace_back();
      } else {
        out.push_back(arg);
      }
    }
    return out;
  }

  // CLI11 ran out of arguments while an option still wanted its value: the
  // option is the last argument, and it belongs to the deepest app selected.
  UsageError missing_value(std::span<const std::string> args, const CLI::ArgumentMismatch& e) const {
    const CLI::App* app = &tool_;
    while (const CLI::App* sub = selected(*app)) app = sub;
    const CLI::Option* option = args.empty() ? nullptr : app->get_option_no_throw(args.back());
    if (option == nullptr || option->get_type_name().empty()) return UsageError(e.what());
    return UsageError(fmt::format("option '{}' needs a value ({})", option->get_name(), option->get_type_name()));
  }

  Invocation invocation() const {
    Invocation out;
    for (const std::string& dir : dir_->results()) {
      if (dir.empty()) throw UsageError("option '--dir' needs a non-empty value");
      out.global.dir = dir;
    }
    if (const std::optional<Extra> extra = first_extra(tool_)) {
      if (extra->text == "help" && !extra->is_option) return Invocation{.text = tool_.help()};
      throw UsageError(fmt::format("unknown {} '{}' (see 'rill --help')", extra->is_option ? "option" : "command",
                                   extra->text));
    }
    const CLI::App* app = selected(tool_);
    if (app == nullptr) throw UsageError("missing command (see 'rill --help')");
    while (!sub_commands(*app).empty()) {
      const std::string words = command_words(*app);
      if (const std::optional<Extra> extra = first_extra(*app)) {
        throw UsageError(fmt::format("unknown command '{} {}' ({})", words, extra->text, sub_command_list(*app)));
      }
      const CLI::App* sub = selected(*app);
      if (sub == nullptr) {
        throw UsageError(fmt::format("'{}' needs a sub-command: {}", words, sub_command_list(*app)));
      }
      app = sub;
    }
    const auto it = std::find_if(commands_.begin(), commands_.end(),
                                 [app](const auto& entry) { return entry.first == app; });
    out.command = it->second;
    out.args = read_command(*app, out.command->spec);
    return out;
  }

  CLI::App tool_;
  CLI::Option* dir_ = nullptr;
  std::vector<std::pair<const CLI::App*, const Command*>> commands_;  // each command's app
  std::set<std::string, std::less<>> value_options_;                 // every option that takes a value
};

}  // namespace

Invocation parse_command_line(std::span<const Command> commands, std::span<const std::string> args) {
  return CommandLine(commands).parse(args);
}

}  // namespace rill::cli
