// rill consume NAME: prints records, formatted like kcat's -f.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <unistd.h>

#include "commands.hpp"
#include "progress.hpp"
#include "rill/consumer.hpp"
#include "rill/error.hpp"

namespace rill::cli {

namespace {

// Set by SIGINT/SIGTERM; --follow stops at its next poll.
std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int /*signal*/) {
  // relaxed: a lone flag read by the poll loop; no other memory rides on it.
  stop_requested.store(true, std::memory_order_relaxed);
}

constexpr std::string_view kDefaultFormat = "%v\\n";

// Checks that every placeholder and escape of `format` is known.
void check_format(std::string_view format) {
  constexpr std::string_view kPlaceholders = "tpoTkv%";
  constexpr std::string_view kEscapes = "nt\\";
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '%' && c != '\\') continue;
    const std::string_view allowed = c == '%' ? kPlaceholders : kEscapes;
    if (i + 1 >= format.size() || allowed.find(format[i + 1]) == std::string_view::npos) {
      throw UsageError(fmt::format("option '--format': unknown sequence '{}' at character {}",
                                   format.substr(i, 2), i + 1));
    }
    ++i;
  }
}

// Appends `record` to `out` as `format` (already checked) says.
void format_record(std::string_view format, const RecordView& record, std::string& out) {
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '%' && c != '\\') {
      out.push_back(c);
      continue;
    }
    const char code = format[++i];
    if (c == '\\') {
      out.push_back(code == 'n' ? '\n' : code == 't' ? '\t' : '\\');
      continue;
    }
    switch (code) {
      case 't': out.append(record.topic()); break;
      case 'p': out.append(fmt::format("{}", record.partition())); break;
      case 'o': out.append(fmt::format("{}", record.offset())); break;
      case 'T': out.append(fmt::format("{}", record.timestamp())); break;
      case 'k': out.append(record.key()); break;
      case 'v': out.append(record.value()); break;
      default: out.push_back('%'); break;
    }
  }
}

struct ConsumeSettings {
  std::string topic;
  std::string format{kDefaultFormat};
  std::optional<std::int32_t> partition;
  std::optional<std::int64_t> offset;
  std::string group;
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  bool from_beginning = false;
  bool follow = false;
};

// The integer options were checked against their ranges (command_table.cpp).
ConsumeSettings read_settings(const ParsedCommand& args) {
  ConsumeSettings s;
  s.topic = args.positionals[0];
  if (auto v = args.value("--format")) s.format = *v;
  check_format(s.format);
  if (auto v = args.integer("--partition")) s.partition = static_cast<std::int32_t>(*v);
  s.offset = args.integer("--offset");
  if (auto v = args.integer("--max")) s.max = *v;
  if (auto v = args.value("--group")) s.group = *v;
  s.from_beginning = args.has("--from-beginning");
  s.follow = args.has("--follow");
  if (s.from_beginning && s.offset) {
    throw UsageError("options '--from-beginning' and '--offset' exclude each other");
  }
  return s;
}

// The partitions to read, each at its starting position.
std::vector<TopicPartition> start_consumer(const Node& node, Consumer& consumer,
                                           const ConsumeSettings& s) {
  const TopicDescription description = node.describe_topic(s.topic);
  std::vector<TopicPartition> partitions;
  for (const PartitionInfo& p : description.partitions) {
    if (!s.partition || *s.partition == p.partition) partitions.push_back({s.topic, p.partition});
  }
  if (partitions.empty()) {
    throw Error(ErrorCode::not_found,
                fmt::format("topic '{}' has no partition {} (it has {})", s.topic, *s.partition,
                            description.partitions.size()));
  }
  consumer.assign(partitions);
  for (const TopicPartition& tp : partitions) {
    const std::optional<std::int64_t> committed =
        s.group.empty() ? std::nullopt : consumer.committed(tp);
    if (s.offset) {
      consumer.seek(tp, *s.offset);
    } else if (s.from_beginning) {
      consumer.seek_to_beginning({tp});
    } else if (committed) {
      consumer.seek(tp, *committed);
    } else {
      consumer.seek_to_end({tp});
    }
  }
  return partitions;
}

bool caught_up(const Consumer& consumer, const std::vector<TopicPartition>& partitions) {
  for (const TopicPartition& tp : partitions) {
    if (consumer.lag(tp) > 0) return false;
  }
  return true;
}

// With --max N, a count of the records printed so far, on a terminal
// standard error while the records go elsewhere (a terminal that shows the
// records would interleave them with the line).
ProgressLine consume_progress(const ConsumeSettings& s) {
  if (s.max == std::numeric_limits<std::int64_t>::max() || ::isatty(STDOUT_FILENO) == 1) {
    return ProgressLine(stderr, false);
  }
  return ProgressLine::for_stderr();
}

}  // namespace

int run_consume(const GlobalOptions& global, const ParsedCommand& args) {
  const ConsumeSettings s = read_settings(args);
  Node node = open_node(global, false);
  Consumer consumer(node, {.group = s.group});
  const std::vector<TopicPartition> partitions = start_consumer(node, consumer, s);
  // The next offset to commit per partition: after the last record printed
  // (a poll may return more than --max lets us print).
  std::map<TopicPartition, std::int64_t> next_offsets;
  for (const TopicPartition& tp : partitions) next_offsets[tp] = consumer.position(tp);
  if (s.follow) {
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
  }
  std::int64_t printed = 0;
  std::string out;
  ProgressLine progress = consume_progress(s);
  // relaxed: see request_stop.
  while (printed < s.max && !stop_requested.load(std::memory_order_relaxed)) {
    if (!s.follow && caught_up(consumer, partitions)) break;
    out.clear();
    for (const RecordView& record : consumer.poll(std::chrono::milliseconds(100))) {
      if (printed == s.max) break;
      format_record(s.format, record, out);
      next_offsets[{std::string(record.topic()), record.partition()}] = record.offset() + 1;
      ++printed;
    }
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
      throw Error(ErrorCode::io, "writing to standard output failed");
    }
    if (progress.due()) progress.update(fmt::format("consume: {} of {} records", printed, s.max));
  }
  progress.clear();
  if (!s.group.empty()) consumer.commit(next_offsets);
  consumer.close();
  return kExitOk;
}

}  // namespace rill::cli
