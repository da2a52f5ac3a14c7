// rill produce NAME: one record per line of standard input.
#include <chrono>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "rill/error.hpp"
#include "rill/producer.hpp"

namespace rill::cli {

namespace {

// The first failure reported by a send callback (later ones add nothing).
class FailureRecord {
 public:
  void note(const Error& error) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!first_) first_ = error.what();
    ++count_;
  }
  [[nodiscard]] bool failed() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return count_ != 0;
  }
  void print(std::string_view topic) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (count_ == 0) return;
    fmt::print(stderr, "error: {} record(s) to '{}' failed: {}\n", count_, topic, *first_);
  }

 private:
  mutable std::mutex mutex_;
  std::optional<std::string> first_;
  std::size_t count_ = 0;
};

}  // namespace

int run_produce(const GlobalOptions& global, const ParsedCommand& args) {
  const std::string& topic = args.positionals[0];
  // --partition was checked against its range (command_table.cpp).
  const std::int32_t partition = static_cast<std::int32_t>(args.integer("--partition").value_or(kAnyPartition));
  const std::optional<std::string> separator = args.value("--key-separator");
  if (separator && separator->empty()) {
    throw UsageError("option '--key-separator': the separator must not be empty");
  }
  Node node = open_node(global, false);
  if (!node.has_topic(topic)) {
    throw Error(ErrorCode::not_found, fmt::format("topic '{}' does not exist", topic));
  }
  FailureRecord failures;
  {
    // A short linger lets a fast stdin fill batches; flush() at the end
    // sends the last one. Records from one thread keep their order.
    Producer producer(node, {.linger = std::chrono::milliseconds(5)});
    std::string line;
    while (std::getline(std::cin, line)) {
      Record record{.value = line, .partition = partition};
      if (separator) {
        if (const auto at = line.find(*separator); at != std::string::npos) {
          record.key = std::string_view(line).substr(0, at);
          record.value = std::string_view(line).substr(at + separator->size());
        }
      }
      producer.send(topic, record, [&failures](const RecordMetadata&, const Error* error) {
        if (error != nullptr) failures.note(*error);
      });
      if (failures.failed()) break;
    }
    producer.flush();
  }
  if (failures.failed()) {
    failures.print(topic);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace rill::cli
