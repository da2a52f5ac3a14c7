// power_loss_loop: cuts the power under a durable partition log at random
// file-system calls and checks that recovery always opens the log, keeps
// every record reported durable, and invents, repeats and reorders none.
//
//   power_loss_loop [--cycles N] [--policy none|interval|every_batch|all]
//                   [--seed S] [--dir D] [--mixed 0|1]
//
// Each cycle opens the partition log on a FaultInjectingFileSystem, appends
// seeded batches (8 KiB segments, so it rolls; a 24 KiB size limit, so
// retention deletes) with syncs and retention runs between them, and cuts
// the power at a random call (one cycle in eight counts it from the open,
// so that some cuts land in recovery). Every file then reverts to its
// synced bytes with the rest dropped, kept or garbled, per 512 B or 4 KiB
// block, in turn over the cycles (--mixed 1 adds cycles where each block
// draws its own fate); names not made durable by a directory sync vanish
// and unsynced unlinks come back. The log is reopened with repair off and
// read back against the ledger, then reopened again, which must find the
// same records and repair nothing. Prints one line per policy; exits 1 on
// any violation. RILL_TEST_SCALE multiplies the cycles.
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "power_loss_cycle.hpp"
#include "loop_arguments.hpp"

namespace {

using rill::crash::PowerLossOptions;
using rill::FsyncPolicy;

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "power_loss_loop: %s\nusage: power_loss_loop [--cycles N] [--policy none|interval|every_batch|all]"
               " [--seed S] [--dir D] [--mixed 0|1]\n",
               message.c_str());
  std::exit(2);
}

std::uint64_t number_argument(std::string_view name, const char* text) {
  const std::optional<std::uint64_t> value = rill::crash::parse_number(text);
  if (!value) usage("bad value for " + std::string(name));
  return *value;
}

PowerLossOptions parse_arguments(int argc, char** argv) {
  PowerLossOptions options;
  options.seed = std::random_device{}();
  std::string policy = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const char* value = argv[++i];
    if (name == "--cycles") options.cycles = number_argument(name, value);
    else if (name == "--seed") options.seed = number_argument(name, value);
    else if (name == "--mixed") options.mixed = number_argument(name, value) != 0;
    else if (name == "--dir") options.dir = value;
    else if (name == "--policy") policy = value;
    else usage("unknown option " + std::string(name));
  }
  for (FsyncPolicy one : {FsyncPolicy::none, FsyncPolicy::interval, FsyncPolicy::every_batch}) {
    if (policy == "all" || policy == rill::to_string(one)) options.policies.push_back(one);
  }
  if (options.policies.empty()) usage("unknown policy " + policy);
  options.cycles *= rill::crash::test_scale();
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  PowerLossOptions options = parse_arguments(argc, argv);
  const bool scratch = options.dir.empty();
  if (scratch) {
    std::string pattern = (std::filesystem::temp_directory_path() / "rill-power-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) usage("cannot create a scratch directory");
    options.dir = pattern;
  }
  std::printf("power_loss_loop: seed=%llu cycles=%llu mixed=%d dir=%s\n",
              static_cast<unsigned long long>(options.seed), static_cast<unsigned long long>(options.cycles),
              options.mixed ? 1 : 0, options.dir.c_str());
  std::fflush(stdout);
  bool failed = false;
  for (std::size_t i = 0; i < options.policies.size(); ++i) {
    try {
      failed |= rill::crash::run_power_loss_policy(options, i).violations() != 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "power_loss_loop: %s\n", e.what());
      failed = true;
    }
  }
  if (failed) {
    std::printf("power_loss_loop: FAILED; reproduce with: power_loss_loop --seed %llu --mixed %d; data kept in %s\n",
                static_cast<unsigned long long>(options.seed), options.mixed ? 1 : 0, options.dir.c_str());
    return 1;
  }
  if (scratch) std::filesystem::remove_all(options.dir);
  return 0;
}
