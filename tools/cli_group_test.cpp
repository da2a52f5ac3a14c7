// Runs the built `rill` tool (cli_test_util.hpp) for what came with consumer
// group administration: groups list / describe / reset-offsets, the cleanup
// options of topics create, help for every command family, bad arguments, and
// the progress line that long commands draw on a terminal (and only there).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cli_test_util.hpp"

using namespace rill::cli::test;

namespace {

// A topic "events" of 2 partitions: 4 records in partition 0, 2 in partition 1.
void make_events(const ScratchDir& scratch) {
  run_ok(scratch, {"topics", "create", "events", "--partitions", "2", "--segment-bytes", "65536"});
  run_ok(scratch, {"produce", "events", "--partition", "0"}, "a\nb\nc\nd\n");
  run_ok(scratch, {"produce", "events", "--partition", "1"}, "x\ny\n");
}

}  // namespace

TEST_CASE("groups list and describe show what a consume --group run committed", "[cli][groups]") {
  ScratchDir scratch;
  make_events(scratch);
  CHECK(run_ok(scratch, {"groups", "list"}).empty());
  CHECK(run_ok(scratch, {"consume", "events", "--group", "audit", "--partition", "0", "--from-beginning", "--max",
                         "3"}) == "a\nb\nc\n");
  CHECK(run_ok(scratch, {"consume", "events", "--group", "billing", "--from-beginning"}).size() == 12);
  CHECK(run_ok(scratch, {"groups", "list"}) == "audit\nbilling\n");
  CHECK(run_ok(scratch, {"groups", "describe", "audit"}) ==
        "group: audit\n"
        "members: none\n"
        "TOPIC   PARTITION  COMMITTED  END  LAG\n"
        "events          0          3    4    1\n");
  CHECK(run_ok(scratch, {"groups", "describe", "billing"}) ==
        "group: billing\n"
        "members: none\n"
        "TOPIC   PARTITION  COMMITTED  END  LAG\n"
        "events          0          4    4    0\n"
        "events          1          2    2    0\n");
  // New records show up as lag.
  run_ok(scratch, {"produce", "events", "--partition", "1"}, "z\n");
  CHECK(run_ok(scratch, {"groups", "describe", "billing"}).find("events          1          2    3    1\n") !=
        std::string::npos);
}

TEST_CASE("groups reset-offsets moves the committed offsets and prints them", "[cli][groups]") {
  ScratchDir scratch;
  make_events(scratch);
  run_ok(scratch, {"consume", "events", "--group", "g", "--from-beginning"});
  CHECK(run_ok(scratch, {"groups", "reset-offsets", "g", "--to-earliest"}) ==
        "TOPIC   PARTITION  NEW-OFFSET\n"
        "events          0           0\n"
        "events          1           0\n");
  CHECK(run_ok(scratch, {"groups", "describe", "g"}).find("events          0          0    4    4\n") !=
        std::string::npos);
  // The next run of the group reads everything again.
  CHECK(run_ok(scratch, {"consume", "events", "--group", "g", "--partition", "1"}) == "x\ny\n");

  run_ok(scratch, {"topics", "create", "other", "--partitions", "1", "--segment-bytes", "65536"});
  run_ok(scratch, {"produce", "other"}, "o1\no2\n");
  run_ok(scratch, {"consume", "other", "--group", "g", "--offset", "0", "--max", "1"});
  CHECK(run_ok(scratch, {"groups", "reset-offsets", "g", "--to-latest", "--topic", "other"}) ==
        "TOPIC  PARTITION  NEW-OFFSET\n"
        "other          0           2\n");
  CHECK(run_ok(scratch, {"groups", "describe", "g"}) ==
        "group: g\n"
        "members: none\n"
        "TOPIC   PARTITION  COMMITTED  END  LAG\n"
        "events          0          0    4    4\n"
        "events          1          2    2    0\n"
        "other           0          2    2    0\n");
  CHECK(run_ok(scratch, {"consume", "other", "--group", "g"}).empty());
}

TEST_CASE("topics create takes a cleanup policy and describe shows it", "[cli][groups]") {
  ScratchDir scratch;
  run_ok(scratch, {"topics", "create", "state", "--partitions", "1", "--cleanup", "compact",
                   "--tombstone-retention-ms", "60000"});
  run_ok(scratch, {"topics", "create", "log", "--partitions", "1", "--cleanup", "delete"});
  run_ok(scratch, {"topics", "create", "plain", "--partitions", "1"});
  const std::string state = run_ok(scratch, {"topics", "describe", "state"});
  CHECK(state.find("cleanup: compact\ntombstone_retention_ms: 60000 ms\n") != std::string::npos);
  const std::string compact_default = run_ok(scratch, {"topics", "describe", "log"});
  CHECK(compact_default.find("cleanup: delete\n") != std::string::npos);
  CHECK(compact_default.find("tombstone_retention_ms") == std::string::npos);
  CHECK(run_ok(scratch, {"topics", "describe", "plain"}).find("cleanup: delete\n") != std::string::npos);
}

TEST_CASE("--help works for every command family and sub-command", "[cli][groups]") {
  ScratchDir scratch;
  for (const char* family : {"topics", "groups"}) {
    const Outcome o = run_cli(scratch, {family, "--help"});
    INFO(family);
    CHECK(o.status == 0);
    CHECK(o.out.find(std::string("usage: rill --dir DIR ") + family + " SUB-COMMAND") != std::string::npos);
  }
  const Outcome groups = run_cli(scratch, {"groups", "--help"});
  for (const char* sub : {"\n  list ", "\n  describe ", "\n  reset-offsets "}) {
    CHECK(groups.out.find(sub) != std::string::npos);
  }
  for (const std::vector<std::string>& command :
       std::vector<std::vector<std::string>>{{"groups", "list"}, {"groups", "describe"}, {"groups", "reset-offsets"}}) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    const Outcome o = run_cli(scratch, args);
    INFO(command[1]);
    CHECK(o.status == 0);
    CHECK(o.out.find("usage: rill --dir DIR groups " + command[1]) != std::string::npos);
  }
  const Outcome reset = run_cli(scratch, {"groups", "reset-offsets", "-h"});
  CHECK(reset.out.find("--to-earliest") != std::string::npos);
  CHECK(reset.out.find("--topic T") != std::string::npos);
  CHECK(run_cli(scratch, {"topics", "create", "--help"}).out.find("--cleanup POLICY") != std::string::npos);
  CHECK(run_cli(scratch, {"--help"}).out.find("groups reset-offsets") != std::string::npos);
}

TEST_CASE("bad group and cleanup arguments fail with a clear message and status", "[cli][groups]") {
  ScratchDir scratch;
  make_events(scratch);
  run_ok(scratch, {"consume", "events", "--group", "g", "--from-beginning"});
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string message;
  };
  const std::string d = scratch.data();
  const std::vector<Case> cases = {
      {{"--dir", d, "groups"}, 2, "'groups' needs a sub-command: list, describe or reset-offsets"},
      {{"--dir", d, "groups", "frob"}, 2, "unknown command 'groups frob' (list, describe or reset-offsets)"},
      {{"--dir", d, "groups", "list", "extra"}, 2, "unexpected argument 'extra' for 'groups list'"},
      {{"--dir", d, "groups", "describe"}, 2, "'groups describe' needs GROUP"},
      {{"--dir", d, "groups", "describe", "nope"}, 1, "error (not_found): consumer group \"nope\" does not exist"},
      {{"--dir", d, "groups", "describe", "a/b"}, 1, "error (invalid_argument): group id \"a/b\""},
      {{"--dir", d, "groups", "reset-offsets", "g"}, 2, "needs '--to-earliest' or '--to-latest'"},
      {{"--dir", d, "groups", "reset-offsets", "g", "--to-earliest", "--to-latest"}, 2, "exclude each other"},
      {{"--dir", d, "groups", "reset-offsets", "g", "--to-latest=1"}, 2, "option '--to-latest' takes no value"},
      {{"--dir", d, "groups", "reset-offsets", "g", "--to-now"}, 2, "unknown option '--to-now'"},
      {{"--dir", d, "groups", "reset-offsets", "g", "--to-latest", "--topic"}, 2, "option '--topic' needs a value"},
      {{"--dir", d, "groups", "reset-offsets", "g", "--to-latest", "--topic="}, 2, "'--topic' needs a non-empty"},
      {{"--dir", d, "groups", "reset-offsets", "g", "--to-latest", "--topic", "nope"}, 1, "error (not_found)"},
      {{"--dir", d, "groups", "reset-offsets", "nope", "--to-latest"}, 1, "error (not_found): consumer group"},
      {{"--dir", d, "groups", "reset-offsets", "a b", "--to-latest"}, 1, "error (invalid_argument)"},
      {{"--dir", d + "-missing", "groups", "list"}, 2, "does not exist"},
      {{"groups", "list"}, 2, "missing --dir DIR"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "1", "--cleanup", "shred"}, 2,
       "option '--cleanup': 'shred' is not delete or compact"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "1", "--tombstone-retention-ms", "-1"}, 2,
       "option '--tombstone-retention-ms': -1 is out of range"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "1", "--cleanup"}, 2, "needs a value (POLICY)"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const std::string& a : c.args) joined += a + " ";
    INFO("rill " << joined);
    const Outcome o = run_cli(scratch, c.args);
    INFO("stderr: " << o.err);
    CHECK(o.status == c.status);
    CHECK(o.err.find(c.message) != std::string::npos);
    CHECK(o.out.empty());
  }
  // Nothing above changed the group or created a topic.
  CHECK(run_ok(scratch, {"groups", "describe", "g"}).find("events          0          4    4    0\n") !=
        std::string::npos);
  CHECK(run_ok(scratch, {"topics", "list"}) == "events\n");
}

TEST_CASE("verify, dump and consume --max draw a progress line only on a terminal, and clear it", "[cli][groups]") {
  ScratchDir scratch;
  make_events(scratch);
  const std::string erase = "\r\033[K";
  const std::string d = scratch.data();
  const std::string piped_report = run_ok(scratch, {"verify"});  // run_ok checks that stderr stays empty

  PseudoTerminal terminal;
  const Outcome verify = run_cli(scratch, {"--dir", d, "verify"}, "", &terminal);
  INFO("stderr: " << verify.err);
  CHECK(verify.status == 0);
  CHECK(verify.out == piped_report);
  CHECK(verify.err.find(erase + "verify: events-0 (partition 1 of 2), segment 1 of 1, ") != std::string::npos);
  CHECK(verify.err.size() >= erase.size());
  CHECK(verify.err.substr(verify.err.size() - erase.size()) == erase);  // cleared at the end

  const Outcome dump =
      run_cli(scratch, {"--dir", d, "dump", first_segment(scratch, "events-0").string()}, "", &terminal);
  CHECK(dump.status == 0);
  CHECK(dump.err.find(erase + "dump: 00000000000000000000.log ") != std::string::npos);
  CHECK(dump.err.substr(dump.err.size() - erase.size()) == erase);

  const Outcome consume =
      run_cli(scratch, {"--dir", d, "consume", "events", "--from-beginning", "--max", "5"}, "", &terminal);
  CHECK(consume.status == 0);
  CHECK(consume.out.size() == 10);
  CHECK(consume.err.find(erase + "consume: ") != std::string::npos);
  CHECK(consume.err.find(" of 5 records") != std::string::npos);
  CHECK(consume.err.substr(consume.err.size() - erase.size()) == erase);

  // Without --max there is nothing to count towards: no line.
  CHECK(run_cli(scratch, {"--dir", d, "consume", "events", "--from-beginning"}, "", &terminal).err.empty());
}
