// rill::Error: the one exception type of rill, thrown for setup and misuse.
//
// Hot-path outcomes that are normal (a full ring, no data yet, a timeout) are
// return values, never exceptions. An Error is thrown only when the caller
// must change something: a bad name, a bad option, an unknown topic, a closed
// object. Its message names the thing and says what to do.
#pragma once

#include <stdexcept>
#include <string>

namespace rill {

enum class ErrorCode {
  invalid_argument,   // a bad name, option or record (the message says which)
  not_found,          // an unknown topic, partition or group
  already_exists,     // creating a topic that exists
  closed,             // using a closed node, topic, producer or consumer
  record_too_large,   // a record larger than the topic or producer allows
  corrupt,            // damaged bytes (with the position in the message)
  io,                 // an operating-system call failed (errno in the message)
  timeout,            // a blocking call ran out of time where that is an error
  full,               // a partition had no room and its FullPolicy says fail
  unsupported,        // a feature this storage kind or build does not have
  out_of_order_sequence,  // an idempotent producer's batch skipped or reused a sequence
                          // number the partition did not expect (nothing was written)
  commit_failed,      // a group commit from a member that was removed from its group or
                      // no longer owns the partition (nothing was stored; Kafka's
                      // CommitFailedException): poll to rejoin, then commit what it owns
};

// Returns a stable lower-case name for `code`, e.g. "invalid_argument".
constexpr const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::already_exists: return "already_exists";
    case ErrorCode::closed: return "closed";
    case ErrorCode::record_too_large: return "record_too_large";
    case ErrorCode::corrupt: return "corrupt";
    case ErrorCode::io: return "io";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::full: return "full";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::out_of_order_sequence: return "out_of_order_sequence";
    case ErrorCode::commit_failed: return "commit_failed";
  }
  return "unknown";
}

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}

  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace rill
