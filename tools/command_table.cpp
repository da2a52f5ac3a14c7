#include <cstdint>
#include <limits>
#include <vector>

#include "commands.hpp"
#include "rill/options.hpp"

namespace rill::cli {

namespace {

constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();
// Limits of the integer options.
constexpr IntegerRange kPartitionCount{1, TopicOptions::kMaxPartitions};
constexpr IntegerRange kPartitionNumber{0, std::numeric_limits<std::int32_t>::max()};
constexpr IntegerRange kPositive{1, kMaxInt64};
constexpr IntegerRange kNonNegative{0, kMaxInt64};
// Milliseconds that still fit in nanoseconds (the library's clocks).
constexpr IntegerRange kMilliseconds{0, kMaxInt64 / 1'000'000};

const std::vector<Command>& command_table() {
  static const std::vector<Command> table = {
      {{"topics create",
        {"NAME"},
        {{"--partitions", "N", "number of partitions", true, kPartitionCount},
         {"--segment-bytes", "B", "size of each segment file (a multiple of 4096; default 64 MiB)", false, kPositive},
         {"--retention-bytes", "B", "delete old segments beyond this many bytes (0: no limit)", false, kNonNegative},
         {"--retention-ms", "MS", "delete segments whose records are older (0: no limit)", false, kNonNegative},
         {"--fsync", "POLICY", "none, interval:MS or batch (default none)", false},
         {"--cleanup", "POLICY", "delete (by retention; default) or compact (newest record per key)", false},
         {"--tombstone-retention-ms", "MS", "under compact: how long a tombstone stays (default 1 day)", false,
          kMilliseconds}},
        "Creates a durable topic in the data directory (created when missing)."},
       run_topics_create},
      {{"topics list", {}, {}, "Prints the name of every topic, one per line, sorted."},
       run_topics_list},
      {{"topics describe", {"NAME"}, {},
        "Prints a topic's options and each partition's start and end offsets.\n"
        "The options include storage, retention, fsync and the cleanup policy."},
       run_topics_describe},
      {{"topics delete", {"NAME"}, {}, "Deletes a topic and its segment files."},
       run_topics_delete},
      {{"produce",
        {"NAME"},
        {{"--key-separator", "SEP", "split each line at the first SEP into key and value", false},
         {"--partition", "P", "send every record to partition P", false, kPartitionNumber}},
        "Sends one record per line of standard input. Prints nothing on success."},
       run_produce},
      {{"consume",
        {"NAME"},
        {{"--from-beginning", "", "start at the oldest retained record", false},
         {"--offset", "N", "start at offset N of each partition read", false, kNonNegative},
         {"--partition", "P", "read only partition P", false, kPartitionNumber},
         {"--group", "G", "read for consumer group G and commit its offsets at the end", false},
         {"--max", "N", "stop after N records", false, kPositive},
         {"--follow", "", "keep waiting for new records (until interrupted)", false},
         {"--format", "FMT", "%t topic, %p partition, %o offset, %T timestamp, %k key, %v value, "
                             "%% percent, \\n newline, \\t tab (default '%v\\n')", false}},
        "Prints the records of a topic.\n"
        "Starts at the end (only new records) unless --from-beginning or --offset\n"
        "says otherwise; without --follow it stops at the end of the data."},
       run_consume},
      {{"dump", {"SEGMENT_FILE"}, {},
        "Lists the batches of a segment file and whether each checksum holds, then every\n"
        "problem (bad header, checksum, offset order, non-zero padding or zero fill). Read-only.\n"
        "Ends with a verdict line. Exits with 1 on any problem. A relative\n"
        "path is looked up in the data directory when it is not found as given."},
       run_dump},
      {{"verify", {},
        {{"--repair", "", "first open the node with repair: recovery checks every batch and cuts the log at "
                          "the first damage (it keeps a .damaged copy)", false}},
        "Checks the catalog, then every batch of every partition: header, checksum, offset order, zero padding\n"
        "and the zero fill after the data, and says what an open would do about each problem\n"
        "(refuse it, or cut it as a torn tail). Changes no byte and opens nothing for writing,\n"
        "unless --repair. Prints a line per partition; exits with 1 on any problem."},
       run_verify},
      {{"groups list", {}, {},
        "Prints the id of every consumer group, one per line, sorted.\n"
        "A group is listed while it has committed offsets."},
       run_groups_list},
      {{"groups describe", {"GROUP"}, {},
        "Prints a group's committed offsets, end offsets and lag per partition.\n"
        "Then its members, if a running consumer of this node belongs to it (never\n"
        "from this tool: a running program holds the directory)."},
       run_groups_describe},
      {{"groups reset-offsets",
        {"GROUP"},
        {{"--to-earliest", "", "move to the oldest retained record of each partition", false},
         {"--to-latest", "", "move to the end of each partition (skip what is there)", false},
         {"--topic", "T", "every partition of topic T (default: those the group committed)", false}},
        "Moves a group's committed offsets and prints the new ones.\n"
        "Give exactly one of --to-earliest and --to-latest. The group must have no\n"
        "running consumers (they would overwrite the new offsets)."},
       run_groups_reset_offsets},
  };
  return table;
}

}  // namespace

std::span<const Command> all_commands() { return command_table(); }

}  // namespace rill::cli
