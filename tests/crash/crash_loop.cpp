// crash_loop: kills a writer process at random moments and checks that
// recovery keeps every acknowledged record, invents none and duplicates none.
//
//   crash_loop [--cycles N] [--policy none|interval|every_batch|all] [--seed S]
//              [--dir D] [--records-per-cycle M]
//
// Each cycle forks a child that opens the node on the data directory and
// produces numbered records, reporting each acknowledged send through a
// pipe; the parent SIGKILLs it after a random delay or a random number of
// acknowledgements, whichever comes first, then reopens the directory twice
// and checks the log against its ledger (see crash_checker.hpp). Prints one
// summary line per policy; exits 1 on any violation, printing the seed.
// RILL_TEST_SCALE multiplies the cycle count.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "crash_cycle.hpp"

namespace {

using rill::crash::LoopOptions;

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "crash_loop: %s\nusage: crash_loop [--cycles N] [--policy none|interval|every_batch|all]"
               " [--seed S] [--dir D] [--records-per-cycle M]\n",
               message);
  std::exit(2);
}

std::uint64_t number_argument(std::string_view name, const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') usage((std::string("bad value for ") + std::string(name)).c_str());
  return value;
}

std::uint64_t test_scale() {
  const char* text = std::getenv("RILL_TEST_SCALE");
  if (text == nullptr || *text == '\0') return 1;
  const long value = std::strtol(text, nullptr, 10);
  return value > 0 ? static_cast<std::uint64_t>(value) : 1;
}

LoopOptions parse_arguments(int argc, char** argv) {
  LoopOptions options;
  options.seed = std::random_device{}();
  std::string policy = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const char* value = argv[++i];
    if (name == "--cycles") options.cycles = number_argument(name, value);
    else if (name == "--seed") options.seed = number_argument(name, value);
    else if (name == "--records-per-cycle") options.records_per_cycle = number_argument(name, value);
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
  options.cycles *= test_scale();
  return options;
}

std::filesystem::path make_scratch_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rill-crash-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) usage("cannot create a scratch directory");
  return pattern;
}

}  // namespace

int main(int argc, char** argv) {
  LoopOptions options = parse_arguments(argc, argv);
  const bool scratch = options.dir.empty();
  if (scratch) options.dir = make_scratch_directory();
  std::printf("crash_loop: seed=%llu cycles=%llu records-per-cycle=%llu dir=%s\n",
              static_cast<unsigned long long>(options.seed), static_cast<unsigned long long>(options.cycles),
              static_cast<unsigned long long>(options.records_per_cycle), options.dir.c_str());
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
    std::printf("crash_loop: FAILED; reproduce with: crash_loop --seed %llu --records-per-cycle %llu; data kept in %s\n",
                static_cast<unsigned long long>(options.seed),
                static_cast<unsigned long long>(options.records_per_cycle), options.dir.c_str());
    return 1;
  }
  if (scratch) std::filesystem::remove_all(options.dir);
  return 0;
}
