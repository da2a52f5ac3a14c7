// rill-bench: measures rill against named peers in the same process.
//
//   rill-bench [--quick] [--filter REGEX] [--json FILE] [--rounds N]
//
// For each case (selected by --filter, a regex searched in the case name),
// every system first runs once unmeasured at a tenth of the size (warm-up:
// page faults, thread start, branch predictors), then the systems run in
// rounds, interleaved in a fixed order (round 1: rill, peerA, peerB; round 2:
// rill, peerA, peerB; ...), so a noisy neighbour hits all of them alike.
// Each figure is the median over the rounds. --quick shrinks every case and
// defaults to 3 rounds (5 otherwise). A round whose consumer detected a
// wrong, missing or reordered message counts as failed and is left out. A
// system that cannot run on this machine (a peer server not installed) gets
// a "skipped" row; that is not a failure.
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "report.hpp"

namespace {

using rill::bench::Case;
using rill::bench::RunConfig;
using rill::bench::RunResult;
using rill::bench::SystemStats;

struct Options {
  bool quick = false;
  std::string filter;
  std::string json_path;
  int rounds = 0;  // 0: the default for the mode
};

[[noreturn]] void usage(int code) {
  fmt::print(code == 0 ? stdout : stderr,
             "usage: rill-bench [--quick] [--filter REGEX] [--json FILE] [--rounds N]\n"
             "  --quick         small sizes and 3 rounds: the whole suite in well under a minute\n"
             "  --filter REGEX  run only the cases whose name matches (ECMAScript regex)\n"
             "  --json FILE     also write every row as a JSON array to FILE\n"
             "  --rounds N      interleaved rounds per case (default 5, or 3 with --quick)\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--filter") {
      o.filter = value();
    } else if (arg == "--json") {
      o.json_path = value();
    } else if (arg == "--rounds") {
      o.rounds = std::atoi(value().c_str());
      if (o.rounds < 1) usage(2);
    } else if (arg == "--help" || arg == "-h") {
      usage(0);
    } else {
      fmt::print(stderr, "rill-bench: unknown argument '{}'\n", arg);
      usage(2);
    }
  }
  if (o.rounds == 0) o.rounds = o.quick ? 3 : 5;
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The q-quantile (nearest rank) of sorted latencies.
double quantile(const std::vector<std::uint64_t>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(rank, sorted.size() - 1)]);
}

// Runs one system once; exceptions become a failed run.
RunResult run_once(const rill::bench::System& system, std::uint64_t messages) {
  RunConfig config;
  config.messages = std::max<std::uint64_t>(
      1000, static_cast<std::uint64_t>(static_cast<double>(messages) * system.message_scale));
  try {
    return system.run(config);
  } catch (const std::exception& e) {
    RunResult r;
    r.error = e.what();
    return r;
  }
}

// Per-round figures of one system, reduced to medians at the end.
struct Samples {
  std::vector<double> rate, mb, p50, p99, p999;
  std::vector<std::pair<std::string, std::vector<double>>> figures;
  int passed = 0;
  std::string error, note, skipped, durability;
};

void add_figures(Samples& s, const std::vector<rill::bench::Figure>& figures) {
  for (const auto& f : figures) {
    auto it = std::find_if(s.figures.begin(), s.figures.end(),
                           [&](const auto& entry) { return entry.first == f.name; });
    if (it == s.figures.end()) it = s.figures.insert(s.figures.end(), {f.name, {}});
    it->second.push_back(f.value);
  }
}

void add_sample(Samples& s, RunResult r, bool measures_rate) {
  if (!r.skipped.empty()) {
    s.skipped = r.skipped;
    return;
  }
  if (!r.error.empty() || (measures_rate && r.seconds <= 0)) {
    if (s.error.empty()) s.error = r.error.empty() ? "no time measured" : r.error;
    return;
  }
  ++s.passed;
  add_figures(s, r.figures);
  if (!r.note.empty()) s.note = r.note;
  if (!r.durability.empty()) s.durability = r.durability;
  if (!measures_rate) return;
  s.rate.push_back(static_cast<double>(r.messages) / r.seconds);
  s.mb.push_back(static_cast<double>(r.bytes) / r.seconds / 1e6);
  if (!r.latencies_ns.empty()) {
    std::sort(r.latencies_ns.begin(), r.latencies_ns.end());
    s.p50.push_back(quantile(r.latencies_ns, 0.50));
    s.p99.push_back(quantile(r.latencies_ns, 0.99));
    s.p999.push_back(quantile(r.latencies_ns, 0.999));
  }
}

std::vector<SystemStats> run_case(const Case& c, const Options& o) {
  const std::uint64_t messages = o.quick ? c.messages_quick : c.messages_full;
  for (const auto& system : c.systems) {
    static_cast<void>(run_once(system, messages / 10));  // warm-up, not measured
  }
  std::vector<Samples> samples(c.systems.size());
  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t i = 0; i < c.systems.size(); ++i) {
      add_sample(samples[i], run_once(c.systems[i], messages), c.systems[i].measures_rate);
    }
  }
  std::vector<SystemStats> rows;
  for (std::size_t i = 0; i < c.systems.size(); ++i) {
    const Samples& s = samples[i];
    SystemStats row;
    row.case_name = c.name;
    row.system = c.systems[i].name;
    row.rounds = s.passed;
    row.error = s.error;
    row.note = s.note;
    row.durability = s.durability.empty() ? c.systems[i].durability : s.durability;
    row.skipped = s.skipped;
    row.measures_rate = c.systems[i].measures_rate;
    for (const auto& [name, values] : s.figures) row.figures.emplace_back(name, median(values));
    if (!s.rate.empty()) {
      row.msgs_per_s = median(s.rate);
      row.mb_per_s = median(s.mb);
    }
    if (!s.p50.empty()) {
      row.p50_ns = median(s.p50);
      row.p99_ns = median(s.p99);
      row.p999_ns = median(s.p999);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The first line of /proc/loadavg and the CPU model: figures from a loaded
// machine are not comparable with those from an idle one.
void print_machine() {
  std::string model = "unknown";
  if (std::FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[256];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      const std::string_view text(line);
      if (text.rfind("model name", 0) == 0 && text.find(':') != std::string_view::npos) {
        model = std::string(text.substr(text.find(':') + 2));
        if (!model.empty() && model.back() == '\n') model.pop_back();
        break;
      }
    }
    std::fclose(f);
  }
  std::string load = "unknown";
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    char line[128];
    if (std::fgets(line, sizeof(line), f) != nullptr) {
      load = line;
      if (!load.empty() && load.back() == '\n') load.pop_back();
    }
    std::fclose(f);
  }
  fmt::print("machine: {} cpus, {}; load average {}\n", std::thread::hardware_concurrency(), model,
             load);
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  std::regex filter;
  try {
    filter = std::regex(options.filter.empty() ? std::string(".") : options.filter);
  } catch (const std::regex_error& e) {
    fmt::print(stderr, "rill-bench: bad --filter '{}': {}\n", options.filter, e.what());
    return 2;
  }

  std::vector<Case> cases;
  rill::bench::add_ring_spsc_cases(cases);
  rill::bench::add_ring_rtt_cases(cases);
  rill::bench::add_ring_mp_cases(cases);
  rill::bench::add_ring_broadcast_cases(cases);
  rill::bench::add_ring_frames_cases(cases);
  rill::bench::add_topic_cases(cases);
  rill::bench::add_log_cases(cases);

  std::erase_if(cases, [&](const Case& c) { return !std::regex_search(c.name, filter); });
  if (cases.empty()) {
    fmt::print(stderr, "rill-bench: no case matches --filter '{}'\n", options.filter);
    return 2;
  }

  fmt::print("rill-bench: {} mode, rounds per case: {}, medians shown\n",
             options.quick ? "quick" : "full", options.rounds);
  print_machine();
  rill::bench::print_table_header();
  std::vector<SystemStats> all;
  bool any_failed = false;
  for (const auto& c : cases) {
    auto rows = run_case(c, options);
    rill::bench::print_case(rows);
    for (auto& row : rows) {
      any_failed = any_failed || !row.error.empty();
      all.push_back(std::move(row));
    }
  }
  static_cast<void>(rill::bench::print_targets(all));
  if (!options.json_path.empty() && !rill::bench::write_json(options.json_path, all)) {
    fmt::print(stderr, "rill-bench: cannot write {}\n", options.json_path);
    return 1;
  }
  // Missed targets are figures, not failures; a wrong message is a failure.
  return any_failed ? 1 : 0;
}
