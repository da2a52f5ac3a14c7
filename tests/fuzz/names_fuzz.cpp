// Fuzz target for topic name and group id validation (src/base/names.hpp).
//
// The input is the name. Properties: validate_topic_name, validate_group_id
// and is_valid_name agree; a rejection is Error(invalid_argument) whose
// message starts with what was checked ("topic name \"" / "group id \"")
// and is printable ASCII whatever the name held; an accepted name is 1 to
// kMaxNameLength bytes of [a-zA-Z0-9._-], is not "." or "..", holds no
// '/', '\\' or NUL, does not start with '-', and its partition folder
// stays directly inside the data directory.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "rill/error.hpp"
#include "storage/topic_options.hpp"
#include "base/names.hpp"

namespace {

using rill::fuzz::check;

// Whether `validate` accepts `name`; a rejection must be well-formed.
template <typename Validate>
bool accepted(Validate validate, std::string_view name, std::string_view what) {
  try {
    validate(name);
    return true;
  } catch (const rill::Error& e) {
    check(e.code() == rill::ErrorCode::invalid_argument);
    const std::string_view message = e.what();
    check(message.substr(0, what.size()) == what && message.substr(what.size(), 2) == " \"");
    for (char c : message) check(c >= 0x20 && c < 0x7f);
    return false;
  }
}

bool legal(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  const bool topic_ok = accepted(rill::base::validate_topic_name, name, "topic name");
  const bool group_ok = accepted(rill::base::validate_group_id, name, "group id");
  check(topic_ok == group_ok);
  check(topic_ok == rill::base::is_valid_name(name));
  if (!topic_ok) return 0;
  check(!name.empty() && name.size() <= rill::base::kMaxNameLength);
  check(name != "." && name != "..");
  check(name.front() != '-');
  for (char c : name) check(legal(c));
  check(name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos);
  const std::filesystem::path folder(rill::storage::partition_dir("data", std::string(name), 0));
  check(folder.lexically_normal().parent_path() == "data");
  check(folder.filename() == std::string(name) + "-0");
  return 0;
}

#include "fuzz_replay.hpp"
