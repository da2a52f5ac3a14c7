// Topic names and group ids: Kafka's rule, with messages that say what is wrong.
#include <string>

#include "rill/error.hpp"
#include "test_util.hpp"
#include "base/names.hpp"

using rill::base::validate_group_id;
using rill::base::validate_topic_name;

namespace {

// The message of the Error that validating `name` throws ("" if none).
std::string rejection(const std::string& name) {
  try {
    validate_topic_name(name);
  } catch (const rill::Error& e) {
    CHECK(e.code() == rill::ErrorCode::invalid_argument);
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("names: bad topic names are rejected with a message naming the problem", "[topic][names]") {
  struct Case {
    std::string name;
    std::string expected_part;
  };
  const Case cases[] = {
      {"", "must not be empty"},
      {".", "\".\" and \"..\" are not allowed"},
      {"..", "\".\" and \"..\" are not allowed"},
      {"a/b", "'/' is not allowed (use letters, digits, '.', '_', '-')"},
      {"\\", "'\\' is not allowed"},
      {std::string("a\0b", 3), "byte 0x00 is not allowed"},
      {std::string(250, 'x'), "250 characters is too long (at most 249)"},
      {"caf\xc3\xa9", "byte 0xc3 is not allowed"},
      {"with space", "' ' (space) is not allowed"},
      {"tab\t", "byte 0x09 is not allowed"},
      {"star*", "'*' is not allowed"},
      {"colon:", "':' is not allowed"},
  };
  for (const Case& c : cases) {
    INFO("name: " << c.name);
    const std::string message = rejection(c.name);
    CHECK_THAT(message, Catch::Matchers::Contains(c.expected_part));
    CHECK_THAT(message, Catch::Matchers::StartsWith("topic name \""));
  }
  CHECK(rejection("a/b") == "topic name \"a/b\": '/' is not allowed (use letters, digits, '.', '_', '-')");
  CHECK(rejection(std::string("a\0b", 3)) ==
        "topic name \"a\\x00b\": byte 0x00 is not allowed (use letters, digits, '.', '_', '-')");
}

TEST_CASE("names: good topic names pass", "[topic][names]") {
  for (const std::string name : {"orders", "a", "A-Z_0.9", "...", "x-", "_", "x.y", "Orders-2024_v1.0"}) {
    INFO("name: " << name);
    CHECK_NOTHROW(validate_topic_name(name));
    CHECK(rill::base::is_valid_name(name));
  }
  CHECK_NOTHROW(validate_topic_name(std::string(249, 'x')));
  CHECK_FALSE(rill::base::is_valid_name(std::string(250, 'x')));
  CHECK_FALSE(rill::base::is_valid_name(".."));
}

TEST_CASE("names: group ids follow the same rule and say 'group id'", "[topic][names]") {
  CHECK_NOTHROW(validate_group_id("billing"));
  CHECK_NOTHROW(validate_group_id("billing.v2-eu_1"));
  try {
    validate_group_id("a b");
    FAIL("expected an Error");
  } catch (const rill::Error& e) {
    CHECK(std::string(e.what()) == "group id \"a b\": ' ' (space) is not allowed (use letters, digits, '.', '_', '-')");
  }
  CHECK_THROWS_AS(validate_group_id(""), rill::Error);
  CHECK_THROWS_AS(validate_group_id(std::string(250, 'g')), rill::Error);
  CHECK_THROWS_AS(validate_group_id(".."), rill::Error);
}
