#include "help_formatter.hpp"

#include <fmt/format.h>

namespace rill::cli {

std::string command_words(const CLI::App& app) {
  std::string words;
  for (const CLI::App* at = &app; at->get_parent() != nullptr; at = at->get_parent()) {
    words = words.empty() ? at->get_name() : fmt::format("{} {}", at->get_name(), words);
  }
  return words;
}

std::vector<const CLI::App*> sub_commands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// "--partitions N", or "--follow" for a flag.
std::string option_label(const CLI::Option& option) {
  const std::string value = option.get_type_name();
  return value.empty() ? option.get_name() : fmt::format("{} {}", option.get_name(), value);
}

// The options of `app` in the order declared, then the help flag.
std::vector<const CLI::Option*> listed_options(const CLI::App& app) {
  std::vector<const CLI::Option*> options = app.get_options(
      [&app](const CLI::Option* o) { return !o->get_positional() && o != app.get_help_ptr(); });
  if (app.get_help_ptr() != nullptr) options.push_back(app.get_help_ptr());
  return options;
}

// Every command below `app` (the leaves of the tree), in table order.
void append_commands(const CLI::App& app, std::vector<const CLI::App*>& commands) {
  for (const CLI::App* sub : sub_commands(app)) {
    if (sub_commands(*sub).empty()) {
      commands.push_back(sub);
    } else {
      append_commands(*sub, commands);
    }
  }
}

std::string tool_help(const CLI::App& tool) {
  std::string text = fmt::format("usage: rill --dir DIR COMMAND [ARGS] [OPTIONS]\n\n{}\n\ncommands:\n",
                                 tool.get_description());
  std::vector<const CLI::App*> commands;
  append_commands(tool, commands);
  for (const CLI::App* command : commands) {
    text += fmt::format("  {:<22} {}\n", command_words(*command), first_line(command->get_description()));
  }
  text += "\nglobal options:\n";
  for (const CLI::Option* option : listed_options(tool)) {
    text += fmt::format("  {:<22} {}\n", option_label(*option), option->get_description());
  }
  return text;
}

std::string family_help(const CLI::App& family) {
  const std::string words = command_words(family);
  std::string text = fmt::format("usage: rill --dir DIR {} SUB-COMMAND [ARGS] [OPTIONS]\n\nsub-commands:\n", words);
  for (const CLI::App* sub : sub_commands(family)) {
    text += fmt::format("  {:<18} {}\n", sub->get_name(), first_line(sub->get_description()));
  }
  text += fmt::format("\n'rill {} SUB-COMMAND --help' shows a sub-command's arguments and options.\n", words);
  return text;
}

std::string command_help(const CLI::App& command) {
  std::string text = fmt::format("usage: rill --dir DIR {}", command_words(command));
  for (const CLI::Option* positional : command.get_options([](const CLI::Option* o) { return o->get_positional(); })) {
    text += fmt::format(" {}", positional->get_name());
  }
  const std::vector<const CLI::Option*> options = listed_options(command);
  if (options.size() > 1) text += " [options]";  // more than --help
  text += fmt::format("\n\n{}\n\noptions:\n", command.get_description());
  for (const CLI::Option* option : options) {
    text += fmt::format("  {:<28} {}{}\n", option_label(*option), option->get_description(),
                        option->get_required() ? " (required)" : "");
  }
  return text;
}

class HelpFormatter : public CLI::FormatterBase {
 public:
  std::string make_help(const CLI::App* app, std::string /*name*/, CLI::AppFormatMode /*mode*/) const override {
    if (app->get_parent() == nullptr) return tool_help(*app);
    if (!sub_commands(*app).empty()) return family_help(*app);
    return command_help(*app);
  }
};

}  // namespace

std::shared_ptr<CLI::FormatterBase> make_help_formatter() { return std::make_shared<HelpFormatter>(); }

}  // namespace rill::cli
