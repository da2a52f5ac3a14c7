#include "base/names.hpp"

#include <fmt/format.h>

#include <string>

#include "rill/error.hpp"

namespace rill::base {
namespace {

constexpr const char* kAllowed = "(use letters, digits, '.', '_', '-')";

bool is_legal_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// The name as it appears in a message: printable ASCII as is, anything else
// as \xNN, and cut after 64 characters.
std::string quoted(std::string_view name) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (char c : name) {
    if (++shown > 64) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", byte);
    }
  }
  return out + "\"";
}

std::string char_name(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) return fmt::format("'{}'", c);
  if (c == ' ') return "' ' (space)";
  return fmt::format("byte 0x{:02x}", byte);
}

// Returns an empty string for a good name, else why it is bad.
std::string problem(std::string_view name) {
  if (name.empty()) return fmt::format("must not be empty: 1 to {} characters {}", kMaxNameLength, kAllowed);
  if (name == "." || name == "..") return fmt::format("\".\" and \"..\" are not allowed {}", kAllowed);
  // On a command line such a name reads as an option.
  if (name.front() == '-') return fmt::format("a leading '-' is not allowed {}", kAllowed);
  if (name.size() > kMaxNameLength) {
    return fmt::format("{} characters is too long (at most {})", name.size(), kMaxNameLength);
  }
  for (char c : name) {
    if (!is_legal_char(c)) return fmt::format("{} is not allowed {}", char_name(c), kAllowed);
  }
  return {};
}

void validate(std::string_view what, std::string_view name) {
  if (std::string why = problem(name); !why.empty()) {
    throw Error(ErrorCode::invalid_argument, fmt::format("{} {}: {}", what, quoted(name), why));
  }
}

}  // namespace

void validate_topic_name(std::string_view name) { validate("topic name", name); }

void validate_group_id(std::string_view id) { validate("group id", id); }

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxNameLength || name == "." || name == ".." || name.front() == '-') {
    return false;
  }
  for (char c : name) {
    if (!is_legal_char(c)) return false;
  }
  return true;
}

}  // namespace rill::base
