// rill groups list | describe | reset-offsets
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "rill/error.hpp"
#include "rill/group.hpp"

namespace rill::cli {

namespace {

using Row = std::vector<std::string>;

// Prints `header` and `rows` in columns two spaces apart, each as wide as
// its widest cell; the columns flagged in `numeric` are right-aligned.
void print_table(const Row& header, const std::vector<Row>& rows, const std::vector<bool>& numeric) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const Row& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto print_row = [&](const Row& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      line += numeric[c] ? fmt::format("{:>{}}", row[c], width[c]) : fmt::format("{:<{}}", row[c], width[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  };
  print_row(header);
  for (const Row& row : rows) print_row(row);
}

std::string number_or_dash(const std::optional<std::int64_t>& value) {
  return value ? fmt::format("{}", *value) : std::string("-");
}

std::string join_partitions(const std::vector<TopicPartition>& partitions) {
  std::string text;
  for (const TopicPartition& tp : partitions) {
    text += fmt::format("{}{}-{}", text.empty() ? "" : ",", tp.topic, tp.partition);
  }
  return text.empty() ? std::string("-") : text;
}

void print_members(const std::vector<GroupMemberDescription>& members) {
  if (members.empty()) {
    fmt::print("members: none\n");
    return;
  }
  fmt::print("members: {}\n", members.size());
  std::vector<Row> rows;
  for (const GroupMemberDescription& m : members) {
    std::string topics;
    for (const std::string& t : m.topics) topics += (topics.empty() ? "" : ",") + t;
    rows.push_back({m.id, topics, join_partitions(m.assignment)});
  }
  print_table({"MEMBER", "TOPICS", "ASSIGNMENT"}, rows, {false, false, false});
}

}  // namespace

int run_groups_list(const GlobalOptions& global, const ParsedCommand& /*args*/) {
  const Node node = open_node(global, false);
  for (const std::string& group : node.list_groups()) fmt::print("{}\n", group);
  return kExitOk;
}

int run_groups_describe(const GlobalOptions& global, const ParsedCommand& args) {
  const Node node = open_node(global, false);
  const GroupDescription d = node.describe_group(args.positionals[0]);
  fmt::print("group: {}\n", d.group);
  print_members(d.members);
  std::vector<Row> rows;
  for (const GroupPartitionDescription& p : d.partitions) {
    rows.push_back({p.partition.topic, fmt::format("{}", p.partition.partition), number_or_dash(p.committed),
                    number_or_dash(p.end_offset), number_or_dash(p.lag)});
  }
  print_table({"TOPIC", "PARTITION", "COMMITTED", "END", "LAG"}, rows, {false, true, true, true, true});
  return kExitOk;
}

int run_groups_reset_offsets(const GlobalOptions& global, const ParsedCommand& args) {
  const bool earliest = args.has("--to-earliest");
  const bool latest = args.has("--to-latest");
  if (earliest == latest) {
    throw UsageError(earliest ? "options '--to-earliest' and '--to-latest' exclude each other"
                              : "'groups reset-offsets' needs '--to-earliest' or '--to-latest'");
  }
  const std::string topic = args.value("--topic").value_or("");
  if (args.value("--topic") && topic.empty()) throw UsageError("option '--topic' needs a non-empty value");
  Node node = open_node(global, false);
  const auto offsets = node.reset_group_offsets(args.positionals[0], topic,
                                                earliest ? OffsetReset::earliest : OffsetReset::latest);
  std::vector<Row> rows;
  for (const auto& [tp, offset] : offsets) {
    rows.push_back({tp.topic, fmt::format("{}", tp.partition), fmt::format("{}", offset)});
  }
  print_table({"TOPIC", "PARTITION", "NEW-OFFSET"}, rows, {false, true, true});
  return kExitOk;
}

}  // namespace rill::cli
