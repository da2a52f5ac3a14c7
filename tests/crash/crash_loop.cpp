// crash_loop: kills a writer process at random moments and checks that
// recovery keeps every acknowledged record, invents none and duplicates none.
//
//   crash_loop [--cycles N] [--policy none|interval|every_batch|all] [--seed S]
//              [--dir D] [--records-per-cycle M] [--fresh-every K]
//              [--points | --compact | --idempotent]
//
// Each cycle forks a child that opens the node on the data directory and
// produces numbered records, reporting each acknowledged send through a
// pipe; the parent SIGKILLs it after a random delay or a random number of
// acknowledgements, whichever comes first, then reopens the directory twice
// and checks the log against its ledger (see crash_checker.hpp). With
// --points, each writer instead arms a crash point of the log in turn (in
// the middle of an append, of a roll, of a retention run; see
// src/log/crash_point.hpp) and kills itself there, and the topic deletes old
// segments. With --compact, the topic is compacted (CleanupPolicy::compact)
// and two writers in three kill themselves in a compaction pass, before a
// compacted copy is renamed into place; older records of a key may then be
// gone (see crash_models.hpp). With --idempotent, the writers share one
// idempotence_id: each one asks Producer::next_sequence where every
// partition stands and first resends what the log lacks of the records the
// last one announced; every record must then be in the log exactly once, in
// order. Every K cycles (--fresh-every, default 250, 0 for never) a policy
// starts over in an empty directory, so a long run stays linear in time.
// Prints one summary line per policy; exits 1 on any violation,
// printing the seed.
// RILL_TEST_SCALE multiplies the cycle count.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "crash_cycle.hpp"
#include "loop_arguments.hpp"
#include "support/crash_points.hpp"

namespace {

using rill::crash::LoopOptions;

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "crash_loop: %s\nusage: crash_loop [--cycles N] [--policy none|interval|every_batch|all]"
               " [--seed S] [--dir D] [--records-per-cycle M] [--fresh-every K]"
               " [--points | --compact | --idempotent]\n",
               message);
  std::exit(2);
}

std::uint64_t number_argument(std::string_view name, const char* text) {
  const std::optional<std::uint64_t> value = rill::crash::parse_number(text);
  if (!value) usage((std::string("bad value for ") + std::string(name)).c_str());
  return *value;
}

LoopOptions parse_arguments(int argc, char** argv) {
  LoopOptions options;
  options.seed = std::random_device{}();
  std::string policy = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--points" || name == "--compact" || name == "--idempotent") {
      if (options.points || options.mode != rill::crash::WriteMode::plain) usage("choose one of the modes");
      if (name == "--points") options.points = true;
      if (name == "--compact") options.mode = rill::crash::WriteMode::compact;
      if (name == "--idempotent") options.mode = rill::crash::WriteMode::idempotent;
      continue;
    }
    if (i + 1 >= argc) usage("missing value");
    const char* value = argv[++i];
    if (name == "--cycles") options.cycles = number_argument(name, value);
    else if (name == "--seed") options.seed = number_argument(name, value);
    else if (name == "--records-per-cycle") options.records_per_cycle = number_argument(name, value);
    else if (name == "--fresh-every") options.fresh_every = number_argument(name, value);
    else if (name == "--dir") options.dir = value;
    else if (name == "--policy") policy = value;
    else usage(("unknown option " + std::string(name)).c_str());
  }
  if (policy == "all") {
    options.policies = {rill::FsyncPolicy::none, rill::FsyncPolicy::interval, rill::FsyncPolicy::every_batch};
  } else if (const auto one = rill::crash::policy_from_name(policy)) {
    options.policies = {*one};
  } else {
    usage("unknown policy");
  }
  if (options.records_per_cycle == 0) usage("--records-per-cycle must be at least 1");
  options.cycles *= rill::crash::test_scale();
  return options;
}

std::filesystem::path make_scratch_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rill-crash-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) usage("cannot create a scratch directory");
  return pattern;
}

}  // namespace

int main(int argc, char** argv) {
  // A RILL_CRASH_POINT meant for the writers must not kill the checker.
  (void)rill::test::arm_crash_point("");
  LoopOptions options = parse_arguments(argc, argv);
  const bool scratch = options.dir.empty();
  if (scratch) options.dir = make_scratch_directory();
  std::printf("crash_loop: seed=%llu cycles=%llu records-per-cycle=%llu mode=%s dir=%s\n",
              static_cast<unsigned long long>(options.seed), static_cast<unsigned long long>(options.cycles),
              static_cast<unsigned long long>(options.records_per_cycle),
              options.points ? "points" : rill::crash::to_string(options.mode), options.dir.c_str());
  std::fflush(stdout);
  bool failed = false;
  for (std::size_t i = 0; i < options.policies.size(); ++i) {
    try {
      failed |= !rill::crash::run_policy(options, i);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "crash_loop: %s\n", e.what());
      failed = true;
    }
  }
  if (failed) {
    std::printf("crash_loop: FAILED; reproduce with: crash_loop --seed %llu --records-per-cycle %llu%s; data kept in %s\n",
                static_cast<unsigned long long>(options.seed),
                static_cast<unsigned long long>(options.records_per_cycle), rill::crash::mode_flag(options),
                options.dir.c_str());
    return 1;
  }
  if (scratch) std::filesystem::remove_all(options.dir);
  return 0;
}
