// Validation of user-supplied names: topic names and group ids.
//
// The rule is Kafka's: 1 to 249 characters from [a-zA-Z0-9._-], and neither
// "." nor ".."; and, unlike Kafka, no leading '-' (it would read as an option
// to the rill tool). Such a name is safe as a file name, which the durable storage
// relies on.
#pragma once

#include <cstddef>
#include <string_view>

namespace rill::base {

inline constexpr std::size_t kMaxNameLength = 249;

// Throws rill::Error(invalid_argument) naming `name` and what is allowed,
// e.g. `topic name "a/b": '/' is not allowed (use letters, digits, '.', '_', '-')`.
void validate_topic_name(std::string_view name);
// The same rule for consumer group ids ("group id" in the message).
void validate_group_id(std::string_view id);

// True when `name` is a valid topic name (no exception).
[[nodiscard]] bool is_valid_name(std::string_view name) noexcept;

}  // namespace rill::base
