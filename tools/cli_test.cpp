// Runs the built `rill` tool as a child process (cli_test_util.hpp) against
// a scratch data directory, and checks its output, its exit status and its
// error messages: topics, produce, consume, dump, verify, help and bad
// arguments. Also tests the command line parser directly.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "rill/inspect.hpp"
#include "rill/rill.hpp"

#include "cli_test_util.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "test_util.hpp"

using namespace rill::cli::test;

TEST_CASE("topics create, list, describe and delete work on a data directory", "[cli]") {
  ScratchDir scratch;
  CHECK(run_ok(scratch, {"topics", "create", "orders", "--partitions", "3", "--segment-bytes",
                         "65536", "--retention-ms", "60000", "--retention-bytes", "1048576",
                         "--fsync", "interval:250"}) == "");
  CHECK(run_ok(scratch, {"topics", "create", "audit", "--partitions", "1", "--fsync", "batch"}) == "");
  CHECK(run_ok(scratch, {"topics", "list"}) == "audit\norders\n");

  const std::string described = run_ok(scratch, {"topics", "describe", "orders"});
  CHECK(described.find("topic: orders\n") != std::string::npos);
  CHECK(described.find("storage: durable\n") != std::string::npos);
  CHECK(described.find("partitions: 3\n") != std::string::npos);
  CHECK(described.find("segment_bytes: 65536\n") != std::string::npos);
  CHECK(described.find("retention_bytes: 1048576 bytes\n") != std::string::npos);
  CHECK(described.find("retention_ms: 60000 ms\n") != std::string::npos);
  CHECK(described.find("fsync: interval (250 ms)\n") != std::string::npos);
  for (const char* partition : {"\n0 ", "\n1 ", "\n2 "}) {
    CHECK(described.find(partition) != std::string::npos);
  }
  CHECK(run_ok(scratch, {"topics", "describe", "audit"}).find("fsync: every_batch\n") != std::string::npos);

  CHECK(run_ok(scratch, {"topics", "delete", "orders"}) == "");
  CHECK(run_ok(scratch, {"topics", "list"}) == "audit\n");
  CHECK_FALSE(fs::exists(fs::path(scratch.data()) / "orders-0"));
}

TEST_CASE("produce sends stdin lines and consume prints them as --format says", "[cli]") {
  ScratchDir scratch;
  run_ok(scratch, {"topics", "create", "events", "--partitions", "2", "--segment-bytes", "65536"});
  CHECK(run_ok(scratch, {"produce", "events", "--partition", "1", "--key-separator", "::"},
               "k1::first\nk2::second\nno separator\n::empty key\n") == "");
  CHECK(run_ok(scratch, {"produce", "events", "--partition", "0"}, "zero\n") == "");

  SECTION("values one per line from the beginning") {
    CHECK(run_ok(scratch, {"consume", "events", "--from-beginning", "--partition", "1"}) ==
          "first\nsecond\nno separator\nempty key\n");
  }
  SECTION("placeholders and escapes") {
    CHECK(run_ok(scratch, {"consume", "events", "--from-beginning", "--partition", "1", "--format",
                           "%t|%p|%o|%k|%v\\t%%\\n"}) ==
          "events|1|0|k1|first\t%\nevents|1|1|k2|second\t%\nevents|1|2||no separator\t%\n"
          "events|1|3||empty key\t%\n");
  }
  SECTION("timestamps are the producer's clock in milliseconds") {
    const std::string out =
        run_ok(scratch, {"consume", "events", "--offset", "0", "--partition", "0", "--format", "%T\\n"});
    REQUIRE(out.size() > 1);
    CHECK(std::stoll(out) > 1'600'000'000'000LL);
  }
  SECTION("--offset and --max bound what is read") {
    CHECK(run_ok(scratch, {"consume", "events", "--partition", "1", "--offset", "1", "--max", "2",
                           "--format", "%o:%v\\n"}) == "1:second\n2:no separator\n");
  }
  SECTION("both partitions, each in offset order") {
    const std::string out =
        run_ok(scratch, {"consume", "events", "--from-beginning", "--format", "%p/%o\\n"});
    CHECK(out.size() == std::string("1/0\n1/1\n1/2\n1/3\n0/0\n").size());
    CHECK(out.find("0/0\n") != std::string::npos);
    CHECK(out.find("1/0\n1/1\n1/2\n1/3\n") != std::string::npos);
  }
  SECTION("without a start option it begins at the end and prints nothing") {
    CHECK(run_ok(scratch, {"consume", "events"}) == "");
  }
  SECTION("with a group it commits what it printed and the next run goes on from there") {
    CHECK(run_ok(scratch, {"consume", "events", "--group", "audit", "--from-beginning", "--partition",
                           "1", "--max", "2"}) == "first\nsecond\n");
    CHECK(run_ok(scratch, {"consume", "events", "--group", "audit", "--partition", "1"}) ==
          "no separator\nempty key\n");
    CHECK(run_ok(scratch, {"consume", "events", "--group", "audit", "--partition", "1"}) == "");
    CHECK(run_ok(scratch, {"verify"}).find("verdict: ok\n") != std::string::npos);
  }
}

TEST_CASE("dump lists the batches of a segment and fails on a damaged copy", "[cli]") {
  ScratchDir scratch;
  run_ok(scratch, {"topics", "create", "logs", "--partitions", "1", "--segment-bytes", "65536"});
  run_ok(scratch, {"produce", "logs"}, "alpha\nbeta\n");
  run_ok(scratch, {"produce", "logs"}, "gamma\n");
  const fs::path segment = first_segment(scratch, "logs-0");

  const std::string dump = run_ok(scratch, {"dump", segment.string()});
  CHECK(dump.find("segment 00000000000000000000.log: 65536 bytes, base offset 0\n") != std::string::npos);
  CHECK(dump.find("position 0 ") != std::string::npos);
  CHECK(dump.find("offsets 0..1 count 2") != std::string::npos);
  CHECK(dump.find("offsets 2..2 count 1") != std::string::npos);
  CHECK(dump.find("checksum BAD") == std::string::npos);
  CHECK(dump.find("verdict: ok (2 batch(es), 3 record(s)") != std::string::npos);
  // A path relative to the data directory works too.
  CHECK(run_ok(scratch, {"dump", "logs-0/00000000000000000000.log"}) == dump);

  const fs::path copy = scratch.path() / "00000000000000000000.log";
  fs::copy_file(segment, copy);
  flip_byte(copy, 70);  // inside the first batch's records
  const Outcome damaged = run_cli(scratch, {"dump", copy.string()});
  CHECK(damaged.status == 1);
  CHECK(damaged.out.find("offsets 0..1 count 2") != std::string::npos);
  CHECK(damaged.out.find("checksum BAD") != std::string::npos);
  CHECK(damaged.out.find("offsets 2..2 count 1") != std::string::npos);
  CHECK(damaged.out.find("damage: checksum mismatch in the batch at position 0") != std::string::npos);
  CHECK(damaged.out.find("verdict: DAMAGED") != std::string::npos);

  flip_byte(copy, 20);  // the first batch's magic byte
  const Outcome bad_header = run_cli(scratch, {"dump", copy.string()});
  CHECK(bad_header.status == 1);
  CHECK(bad_header.out.find("bad batch header at position") != std::string::npos);
  CHECK(bad_header.out.find("verdict: DAMAGED") != std::string::npos);
}

TEST_CASE("verify checks every partition and fails on damage", "[cli]") {
  ScratchDir scratch;
  run_ok(scratch, {"topics", "create", "metrics", "--partitions", "2", "--segment-bytes", "65536"});
  run_ok(scratch, {"produce", "metrics", "--partition", "0"}, "a\nb\n");
  run_ok(scratch, {"produce", "metrics", "--partition", "0"}, "c\n");
  const std::string report = run_ok(scratch, {"verify"});
  CHECK(report == "metrics-0: ok, 1 segment(s), 2 batch(es), 3 record(s)\n"
                  "metrics-1: ok, 1 segment(s), 0 batch(es), 0 record(s)\n"
                  "verdict: ok\n");

  flip_byte(first_segment(scratch, "metrics-0"), 70);  // the first of two batches
  const auto before = directory_bytes(scratch.data());
  const Outcome damaged = run_cli(scratch, {"--dir", scratch.data(), "verify"});
  INFO("stdout: " << damaged.out << "stderr: " << damaged.err);
  CHECK(damaged.status == 1);
  CHECK(damaged.err.empty());
  CHECK(damaged.out == "metrics-0: DAMAGED, 1 problem(s)\n"
                       "  00000000000000000000.log: checksum mismatch in the batch at position 0: offsets "
                       "from 0 on were synced or closed in order (the recovery point is at offset 3): an "
                       "open refuses it, or a reader stops in front of it with Error(corrupt); nothing is "
                       "cut without rill verify --repair\n"
                       "metrics-1: ok, 1 segment(s), 0 batch(es), 0 record(s)\n"
                       "verdict: DAMAGED\n");
  CHECK(directory_bytes(scratch.data()) == before);  // verify changed no byte of any file
  // An open refuses the damaged log: nothing was cut (the lock file
  // outside the partition names the last opener).
  const fs::path partition = fs::path(scratch.data()) / "metrics-0";
  const auto partition_before = directory_bytes(partition);
  const Outcome consume = run_cli(scratch, {"--dir", scratch.data(), "consume", "metrics", "--from-beginning"});
  CHECK(consume.status == 1);
  CHECK(consume.err.find("error (corrupt)") != std::string::npos);
  CHECK(directory_bytes(partition) == partition_before);

  // --repair lets recovery cut the log at the damage and keep a copy.
  const Outcome repaired = run_cli(scratch, {"--dir", scratch.data(), "verify", "--repair"});
  INFO("stdout: " << repaired.out << "stderr: " << repaired.err);
  CHECK(repaired.status == 0);
  CHECK(repaired.out.find("metrics-0: ok, 1 segment(s), 0 batch(es), 0 record(s)\n") != std::string::npos);
  CHECK(fs::exists(fs::path(scratch.data()) / "metrics-0" / "00000000000000000000.log.damaged"));
  CHECK(run_ok(scratch, {"verify"}).find("verdict: ok\n") != std::string::npos);
}

TEST_CASE("verify accepts the offset gaps that compaction leaves", "[cli]") {
  ScratchDir scratch;
  const fs::path partition = fs::path(scratch.data()) / "balances-0";
  {
    rill::Node node = rill::Node::open(scratch.data());
    node.create_topic("balances", {.storage = rill::StorageKind::durable,
                                   .segment_bytes = 64 * 1024,
                                   .cleanup = rill::CleanupPolicy::compact});
    rill::Producer producer(node);
    const std::string value(200, 'v');
    // ~8 segments: 8 keys rewritten over and over, and among the first 400
    // records every other one under a key of its own, which compaction
    // keeps: the closed segments end up with kept records between gaps.
    for (int i = 0; i < 2000; ++i) {
      const std::string key = i < 400 && i % 2 == 0 ? "once-" + std::to_string(i) : "account-" + std::to_string(i % 8);
      (void)producer.send("balances", {.key = key, .value = value}).get();
    }
    // The node's cleaner compacts closed segments in the background; wait
    // (bounded) until reading from the beginning shows records removed.
    auto readable = [&] {
      rill::Consumer consumer(node);
      consumer.assign({{"balances", 0}});
      consumer.seek_to_beginning({{"balances", 0}});
      std::size_t count = 0;
      for (auto records = consumer.poll(std::chrono::milliseconds(0)); !records.empty();
           records = consumer.poll(std::chrono::milliseconds(0))) {
        count += records.size();
      }
      return count;
    };
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (readable() > 1800 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(readable() <= 1800);
    REQUIRE(fs::exists(partition / "compacted"));
  }
  const std::string report = run_ok(scratch, {"verify"});
  CHECK(report.find("balances-0: ok") != std::string::npos);
  CHECK(report.find("verdict: ok\n") != std::string::npos);
}

TEST_CASE("--help works for the tool and for every command", "[cli]") {
  ScratchDir scratch;
  const Outcome tool = run_cli(scratch, {"--help"});
  CHECK(tool.status == 0);
  CHECK(tool.out.find("usage: rill --dir DIR COMMAND") != std::string::npos);
  for (const char* command : {"topics create", "topics list", "topics describe", "topics delete",
                              "produce", "consume", "dump", "verify"}) {
    std::vector<std::string> args;
    std::string words = command;
    if (const auto space = words.find(' '); space != std::string::npos) {
      args = {words.substr(0, space), words.substr(space + 1)};
    } else {
      args = {words};
    }
    args.push_back("--help");
    const Outcome o = run_cli(scratch, args);
    INFO(command);
    CHECK(o.status == 0);
    CHECK(o.out.find(std::string("usage: rill --dir DIR ") + command) != std::string::npos);
  }
}

TEST_CASE("bad arguments fail with a clear message and a usage or failure status", "[cli]") {
  ScratchDir scratch;
  run_ok(scratch, {"topics", "create", "t", "--partitions", "1", "--segment-bytes", "65536"});
  const std::string a_file = (scratch.path() / "stdin").string();  // run_cli writes it
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string message;
  };
  const std::string d = scratch.data();
  const std::vector<Case> cases = {
      {{}, 2, "missing command"},
      {{"--dir"}, 2, "option '--dir' needs a value"},
      {{"--dir", d, "bogus"}, 2, "unknown command 'bogus'"},
      {{"--dir", d, "--bogus"}, 2, "unknown option '--bogus'"},
      {{"--dir", d, "topics"}, 2, "'topics' needs a sub-command"},
      {{"--dir", d, "topics", "frob"}, 2, "unknown command 'topics frob'"},
      {{"--dir", d, "topics", "create", "u"}, 2, "needs option '--partitions N'"},
      {{"--dir", d, "topics", "create", "--partitions", "1"}, 2, "'topics create' needs NAME"},
      {{"--dir", d, "topics", "create", "u", "--partitions"}, 2, "option '--partitions' needs a value (N)"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "abc"}, 2,
       "option '--partitions': 'abc' is not a whole number"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "0"}, 2,
       "option '--partitions': 0 is out of range (1 to 4096)"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "1", "--partitions", "2"}, 2, "given twice"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "1", "--colour", "red"}, 2,
       "unknown option '--colour' for 'topics create'"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "1", "--fsync", "sometimes"}, 2,
       "'sometimes' is not none, interval:MS or batch"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "1", "--fsync", "interval:x"}, 2,
       "option '--fsync': 'x' is not a whole number"},
      {{"--dir", d, "topics", "create", "bad/name", "--partitions", "1"}, 1, "error (invalid_argument)"},
      {{"--dir", d, "topics", "create", "u", "--partitions", "1", "--segment-bytes", "1000"}, 1,
       "segment_bytes"},
      {{"--dir", d, "topics", "create", "t", "--partitions", "1"}, 1, "error (already_exists)"},
      {{"--dir", d, "topics", "list", "extra"}, 2, "unexpected argument 'extra' for 'topics list'"},
      {{"--dir", d, "topics", "describe", "nope"}, 1, "error (not_found)"},
      {{"--dir", d, "topics", "delete", "nope"}, 1, "error (not_found)"},
      {{"--dir", a_file, "topics", "list"}, 2, "is not a directory"},
      {{"--dir", d + "-missing", "topics", "list"}, 2, "does not exist"},
      {{"topics", "list"}, 2, "missing --dir DIR"},
      {{"--dir", d, "produce", "nope"}, 1, "error (not_found)"},
      {{"--dir", d, "produce", "t", "--partition", "5"}, 1, "error (invalid_argument)"},
      {{"--dir", d, "produce", "t", "--partition", "-1"}, 2, "out of range"},
      {{"--dir", d, "consume", "nope", "--from-beginning"}, 1, "error (not_found)"},
      {{"--dir", d, "consume", "t", "--partition", "3"}, 1, "has no partition 3"},
      {{"--dir", d, "consume", "t", "--format", "%x"}, 2, "unknown sequence '%x'"},
      {{"--dir", d, "consume", "t", "--max", "0"}, 2, "option '--max': 0 is out of range"},
      {{"--dir", d, "consume", "t", "--from-beginning", "--offset", "1"}, 2, "exclude each other"},
      {{"--dir", d, "consume", "t", "--follow=yes"}, 2, "option '--follow' takes no value"},
      {{"--dir", d, "dump", (scratch.path() / "missing.log").string()}, 1, "cannot read"},
      {{"--dir", d, "dump"}, 2, "'dump' needs SEGMENT_FILE"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const std::string& a : c.args) joined += a + " ";
    INFO("rill " << joined);
    const Outcome o = run_cli(scratch, c.args, "x\n");
    INFO("stderr: " << o.err);
    CHECK(o.status == c.status);
    CHECK(o.err.find(c.message) != std::string::npos);
    CHECK(o.out.empty());
  }
  // Nothing above created a topic or wrote a record.
  CHECK(run_ok(scratch, {"topics", "list"}) == "t\n");
  CHECK(run_ok(scratch, {"consume", "t", "--from-beginning"}) == "");
}

TEST_CASE("--help on every command exits with 0 and lists its options, and an unknown option exits with 2 and names it",
          "[cli]") {
  ScratchDir scratch;
  for (const rill::cli::Command& command : rill::cli::all_commands()) {
    const rill::cli::CommandSpec& spec = command.spec;
    std::vector<std::string> words;
    for (std::size_t at = 0; at <= spec.words.size();) {
      const std::size_t space = std::min(spec.words.find(' ', at), spec.words.size());
      words.emplace_back(spec.words.substr(at, space - at));
      at = space + 1;
    }
    INFO("rill " << spec.words);
    for (const char* help : {"--help", "-h"}) {
      std::vector<std::string> args = words;
      args.push_back(help);
      const Outcome o = run_cli(scratch, args);
      CHECK(o.status == 0);
      CHECK(o.err.empty());
      CHECK(o.out.find("usage: rill --dir DIR " + std::string(spec.words)) != std::string::npos);
      for (std::string_view positional : spec.positionals) CHECK(o.out.find(positional) != std::string::npos);
      for (const rill::cli::OptionSpec& option : spec.options) {
        const std::string label = option.value_name.empty()
                                      ? std::string(option.name)
                                      : std::string(option.name) + " " + std::string(option.value_name);
        CHECK(o.out.find(label) != std::string::npos);
      }
      CHECK(o.out.find("--help") != std::string::npos);
    }
    for (const char* unknown : {"--no-such-option", "--no-such-option=1"}) {
      std::vector<std::string> args = {"--dir", scratch.data()};
      args.insert(args.end(), words.begin(), words.end());
      args.push_back(unknown);
      const Outcome o = run_cli(scratch, args);
      CHECK(o.status == 2);
      CHECK(o.err.find("unknown option '--no-such-option' for '" + std::string(spec.words) + "'") !=
            std::string::npos);
      CHECK(o.out.empty());
    }
  }
  const Outcome tool = run_cli(scratch, {"--help"});
  CHECK(tool.status == 0);
  for (const rill::cli::Command& command : rill::cli::all_commands()) {
    CHECK(tool.out.find("\n  " + std::string(command.spec.words) + " ") != std::string::npos);
  }
  for (const char* global : {"--dir DIR", "--help", "--version"}) CHECK(tool.out.find(global) != std::string::npos);
  CHECK(run_cli(scratch, {"help"}).out == tool.out);
  CHECK(run_cli(scratch, {"-h"}).out == tool.out);
  const Outcome version = run_cli(scratch, {"--version"});
  CHECK(version.status == 0);
  CHECK(version.out.rfind("rill ", 0) == 0);
}

TEST_CASE("the command line is read against its table", "[cli]") {
  using rill::cli::Command;
  using rill::cli::UsageError;
  const std::vector<Command> table{
      {{"demo",
        {"NAME"},
        {{"--count", "N", "how many", false, rill::cli::IntegerRange{-10, 10}}, {"--loud", "", "a flag", false}},
        "A demo command."},
       nullptr}};
  const auto parse = [&table](const std::vector<std::string>& args) {
    return rill::cli::parse_command_line(table, args);
  };
  const rill::cli::Invocation call = parse({"--dir", "d", "demo", "--count=3", "--loud", "--", "-name-"});
  REQUIRE(call.command == &table[0]);
  CHECK(call.global.dir == fs::path("d"));
  const rill::cli::ParsedCommand& parsed = call.args;
  CHECK(parsed.value("--count") == std::optional<std::string>("3"));
  CHECK(parsed.integer("--count") == std::optional<std::int64_t>(3));
  CHECK(parse({"demo", "x", "--count", "-5"}).args.integer("--count") == std::optional<std::int64_t>(-5));
  CHECK(parsed.has("--loud"));
  CHECK_FALSE(parsed.has("--quiet"));
  CHECK(parsed.positionals == std::vector<std::string>{"-name-"});
  const rill::cli::Invocation help = parse({"demo", "x", "-h"});
  CHECK(help.command == nullptr);
  CHECK(help.text.find("usage: rill --dir DIR demo NAME [options]") != std::string::npos);
  CHECK(help.text.find("--count N") != std::string::npos);
  CHECK_THROWS_AS(parse({"demo"}), UsageError);
  CHECK_THROWS_WITH(parse({"demo", "x", "--count", "11"}),
                    Catch::Contains("option '--count': 11 is out of range (-10 to 10)"));
  CHECK_THROWS_WITH(parse({"demo", "x", "--count="}), Catch::Contains("option '--count': '' is not a whole number"));
  CHECK_THROWS_WITH(parse({"demo", "x", "--count"}), Catch::Contains("option '--count' needs a value (N)"));
  CHECK(rill::cli::parse_integer("--n", "-5", -10, 10) == -5);
  CHECK_THROWS_WITH(rill::cli::parse_integer("--n", "99999999999999999999", 0, 10),
                    Catch::Contains("out of range"));
  CHECK_THROWS_WITH(rill::cli::parse_integer("--n", "", 0, 10), Catch::Contains("not a whole number"));
  CHECK_THROWS_WITH(rill::cli::parse_integer("--n", "7x", 0, 10), Catch::Contains("not a whole number"));
}

namespace {


std::string numbered_lines(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += "line-" + std::to_string(i) + "\n";
  return out;
}

}  // namespace

TEST_CASE("a flipped bit in a cleanly closed log is reported by verify and consume, never cut or skipped", "[cli][damage]") {
  const std::string fsync = GENERATE("none", "batch");
  INFO("--fsync " << fsync);
  ScratchDir scratch;
  run_ok(scratch, {"topics", "create", "lines", "--partitions", "1", "--fsync", fsync});
  constexpr int kLines = 20000;
  run_ok(scratch, {"produce", "lines"}, numbered_lines(0, kLines));
  const fs::path segment = first_segment(scratch, "lines-0");
  const rill::SegmentReport clean = rill::inspect_segment(segment);
  REQUIRE(clean.problems.empty());
  REQUIRE(clean.batches.size() >= 3);
  const fs::path partition = fs::path(scratch.data()) / "lines-0";

  SECTION("a bit inside the last batch: verify reports it and changes nothing, an open refuses, --repair cuts") {
    const rill::InspectedBatch& last = clean.batches.back();
    rill::test::flip_bit(segment, last.position + std::min<std::size_t>(5000, last.size_bytes - 1), 0x04);
    const auto before = directory_bytes(scratch.data());
    const Outcome verify = run_cli(scratch, {"--dir", scratch.data(), "verify"});
    INFO("verify: " << verify.out << verify.err);
    CHECK(verify.status == 1);
    CHECK(verify.out.find("lines-0: DAMAGED") != std::string::npos);
    CHECK(verify.out.find("nothing is cut without rill verify --repair") != std::string::npos);
    CHECK(directory_bytes(scratch.data()) == before);
    const auto partition_before = directory_bytes(partition);
    const Outcome consume = run_cli(scratch, {"--dir", scratch.data(), "consume", "lines", "--from-beginning"});
    CHECK(consume.status == 1);
    CHECK(consume.err.find("error (corrupt)") != std::string::npos);
    CHECK(consume.err.find(segment.filename().string()) != std::string::npos);
    CHECK(directory_bytes(partition) == partition_before);

    const Outcome repaired = run_cli(scratch, {"--dir", scratch.data(), "verify", "--repair"});
    INFO("repair: " << repaired.out << repaired.err);
    CHECK(repaired.status == 0);
    CHECK(fs::exists(segment.string() + ".damaged"));
    CHECK(run_ok(scratch, {"consume", "lines", "--from-beginning"}) ==
          numbered_lines(0, static_cast<int>(last.base_offset)));
  }
  SECTION("a bit in a middle batch's last_offset_delta: consume stops with an error after every line before it") {
    const std::size_t byte = GENERATE(24, 25);  // +16 or +4096 offsets claimed
    const rill::InspectedBatch& second = clean.batches[1];
    rill::test::flip_bit(segment, second.position + byte, 0x10);
    const auto partition_before = directory_bytes(partition);
    const Outcome consume = run_cli(scratch, {"--dir", scratch.data(), "consume", "lines", "--from-beginning"});
    INFO("consume stderr: " << consume.err);
    CHECK(consume.status == 1);
    // The reader stops in front of the batch after every line before it;
    // or, when the flip broke the header of a batch an index entry points
    // at (how the lines were batched depends on the machine's speed), the
    // open refuses the log. Either way nothing is skipped or cut.
    const bool refused_at_open = consume.out.empty();
    if (!refused_at_open) CHECK(consume.out == numbered_lines(0, static_cast<int>(second.base_offset)));
    CHECK(consume.err.find("error (corrupt)") != std::string::npos);
    CHECK(consume.err.find(segment.string()) != std::string::npos);
    CHECK(consume.err.find("byte " + std::to_string(second.position)) != std::string::npos);
    CHECK(directory_bytes(partition) == partition_before);
    const Outcome verify = run_cli(scratch, {"--dir", scratch.data(), "verify"});
    CHECK(verify.status == 1);
    CHECK(verify.out.find("position " + std::to_string(second.position)) != std::string::npos);
  }
  SECTION("non-zero padding between batches is reported by verify and dump; every record still reads") {
    std::size_t padding = 0;
    for (const rill::InspectedBatch& b : clean.batches) {
      if (b.size_bytes % 8 != 0) {
        padding = b.position + b.size_bytes;
        break;
      }
    }
    REQUIRE(padding != 0);
    rill::test::flip_bit(segment, padding, 0x01);
    const Outcome verify = run_cli(scratch, {"--dir", scratch.data(), "verify"});
    CHECK(verify.status == 1);
    CHECK(verify.out.find("non-zero padding byte at position " + std::to_string(padding)) != std::string::npos);
    CHECK(verify.out.find("no record is affected") != std::string::npos);
    const Outcome dump = run_cli(scratch, {"--dir", scratch.data(), "dump", segment.string()});
    CHECK(dump.status == 1);
    CHECK(dump.out.find("damage: non-zero padding byte at position " + std::to_string(padding)) != std::string::npos);
    CHECK(run_ok(scratch, {"consume", "lines", "--from-beginning"}) == numbered_lines(0, kLines));
  }
}

TEST_CASE("no environment variable arms a crash point in a program that links rill", "[cli]") {
  ScratchDir scratch;
  run_ok(scratch, {"topics", "create", "t", "--partitions", "1"});
  // Crash points are armed only through the test-only support library; the
  // name the library once read must do nothing.
  REQUIRE(::setenv("RILL_CRASH_POINT", "segment.mid_append:1", 1) == 0);
  const Outcome produced = run_cli(scratch, {"--dir", scratch.data(), "produce", "t"}, "one\ntwo\n");
  ::unsetenv("RILL_CRASH_POINT");
  CHECK(produced.status == 0);
  CHECK(run_ok(scratch, {"consume", "t", "--from-beginning"}) == "one\ntwo\n");
}

TEST_CASE("verify reports a damaged catalog and a partition folder that lost its segments", "[cli][damage]") {
  ScratchDir scratch;
  run_ok(scratch, {"topics", "create", "events", "--partitions", "2"});
  run_ok(scratch, {"produce", "events", "--partition", "1"}, "a\nb\n");
  const fs::path dir(scratch.data());
  SECTION("a catalog byte flipped: an open refuses it, and so does verify") {
    rill::test::flip_bit(dir / "rill.catalog", 20, 0x01);
    const auto before = directory_bytes(scratch.data());
    const Outcome verify = run_cli(scratch, {"--dir", scratch.data(), "verify"});
    CHECK(verify.status == 1);
    CHECK(verify.out.find("catalog: DAMAGED: ") != std::string::npos);
    CHECK(verify.out.find("rill.catalog") != std::string::npos);
    CHECK(verify.out.find("verdict: DAMAGED\n") != std::string::npos);
    CHECK(directory_bytes(scratch.data()) == before);
  }
  SECTION("a partition folder emptied: verify says an open would start it empty") {
    for (const auto& entry : fs::directory_iterator(dir / "events-1")) fs::remove(entry.path());
    const Outcome verify = run_cli(scratch, {"--dir", scratch.data(), "verify"});
    CHECK(verify.status == 1);
    CHECK(verify.out.find("catalog: DAMAGED: topic \"events\" partition 1: ") != std::string::npos);
    CHECK(verify.out.find("start the partition empty") != std::string::npos);
  }
}
