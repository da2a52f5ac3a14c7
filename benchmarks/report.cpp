// Table, ratios, targets and JSON output of rill-bench.
#include "report.hpp"

#include <fmt/core.h>

#include <cstdio>

namespace rill::bench {
namespace {

constexpr const char* kRill = "rill";

// 12.3M, 456.7k: rates are easier to compare with a unit suffix.
std::string human_rate(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

std::string latency_cell(const std::optional<double>& ns) {
  return ns ? fmt::format("{:.0f}", *ns) : std::string("-");
}

const SystemStats* find(const std::vector<SystemStats>& all, const std::string& case_name,
                        const std::string& system) {
  for (const auto& s : all) {
    if (s.case_name == case_name && s.system == system && s.rounds > 0) return &s;
  }
  return nullptr;
}

enum class Kind { kThroughputAtLeast, kP50AtMost };

struct Target {
  const char* case_name;
  const char* peer;
  Kind kind;
  double bound;
};

// The same-run targets: rill's figure divided by the peer's, in one run.
constexpr Target kTargets[] = {
    {"ring.spsc.8B", "boost.spsc_queue", Kind::kThroughputAtLeast, 1.8},
    {"ring.spsc.8B", "moodycamel.rwq", Kind::kThroughputAtLeast, 1.3},
    {"ring.spsc.64B", "boost.spsc_queue", Kind::kThroughputAtLeast, 1.8},
    {"ring.spsc.64B", "moodycamel.rwq", Kind::kThroughputAtLeast, 1.3},
    {"ring.spsc.1KiB", "limit.memcpy", Kind::kThroughputAtLeast, 0.5},
    {"ring.spsc.8B.bulk", "boost.spsc_queue", Kind::kThroughputAtLeast, 1.2},
    {"ring.spsc.rtt", "boost.spsc_queue", Kind::kP50AtMost, 0.6},
    {"ring.spsc.rtt", "limit.atomic_pingpong", Kind::kP50AtMost, 1.5},
    {"ring.mpsc.2p1c.8B", "moodycamel.concurrentqueue", Kind::kThroughputAtLeast, 1.2},
    {"ring.mpmc.2p2c.8B", "moodycamel.concurrentqueue", Kind::kThroughputAtLeast, 1.2},
    {"ring.broadcast.1p2c.64B", "zeromq.pubsub.inproc", Kind::kThroughputAtLeast, 10.0},
    {"topic.e2e.100B", "zeromq.inproc", Kind::kThroughputAtLeast, 10.0},
    {"topic.e2e.100B", "moodycamel.concurrentqueue.owned", Kind::kThroughputAtLeast, 2.0},
};

std::string json_number(const std::optional<double>& v) {
  return v ? fmt::format("{:.1f}", *v) : std::string("null");
}

// Case and system names are plain ASCII identifiers; escape anyway.
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

void print_table_header() {
  fmt::print("{:<26} {:<34} {:>9} {:>10} {:>8} {:>8} {:>8} {:>6}\n", "case", "system", "msgs/s",
             "MB/s", "p50 ns", "p99 ns", "p99.9 ns", "rounds");
  std::fflush(stdout);
}

void print_case(const std::vector<SystemStats>& rows) {
  if (rows.empty()) return;
  for (const auto& s : rows) {
    if (s.rounds == 0) {
      fmt::print("{:<26} {:<34} FAILED: {}\n", s.case_name, s.system, s.error);
      continue;
    }
    fmt::print("{:<26} {:<34} {:>9} {:>10.1f} {:>8} {:>8} {:>8} {:>6}\n", s.case_name, s.system,
               human_rate(s.msgs_per_s), s.mb_per_s, latency_cell(s.p50_ns),
               latency_cell(s.p99_ns), latency_cell(s.p999_ns), s.rounds);
    if (!s.error.empty()) fmt::print("{:<26}   (a round failed: {})\n", "", s.error);
  }
  const SystemStats* rill = find(rows, rows.front().case_name, kRill);
  std::string ratios;
  for (const auto& s : rows) {
    if (rill == nullptr || s.system == kRill || s.rounds == 0 || s.msgs_per_s <= 0) continue;
    ratios += fmt::format("  vs {} {:.2f}x", s.system, rill->msgs_per_s / s.msgs_per_s);
    if (rill->p50_ns && s.p50_ns && *s.p50_ns > 0) {
      ratios += fmt::format(" (p50 {:.2f}x)", *rill->p50_ns / *s.p50_ns);
    }
  }
  if (!ratios.empty()) fmt::print("{:<26}   rill msgs/s{}\n", "", ratios);
  for (const auto& s : rows) {
    if (!s.note.empty()) fmt::print("{:<26}   {}: {}\n", "", s.system, s.note);
  }
  std::fflush(stdout);
}

int print_targets(const std::vector<SystemStats>& all) {
  fmt::print("\ntargets (rill vs a peer, same run)\n");
  int missed = 0;
  for (const auto& t : kTargets) {
    const SystemStats* rill = find(all, t.case_name, kRill);
    const SystemStats* peer = find(all, t.case_name, t.peer);
    const bool p50 = t.kind == Kind::kP50AtMost;
    const std::string what = p50 ? fmt::format("p50 <= {:.1f}x", t.bound)
                                 : fmt::format("msgs/s >= {:.1f}x", t.bound);
    if (rill == nullptr || peer == nullptr || (p50 && (!rill->p50_ns || !peer->p50_ns))) {
      fmt::print("  {:<24} {:<34} {:<16} {:>8}  not run\n", t.case_name, t.peer, what, "-");
      continue;
    }
    const double ratio = p50 ? *rill->p50_ns / *peer->p50_ns : rill->msgs_per_s / peer->msgs_per_s;
    const bool met = p50 ? ratio <= t.bound : ratio >= t.bound;
    if (!met) ++missed;
    fmt::print("  {:<24} {:<34} {:<16} {:>7.2f}x  {}\n", t.case_name, t.peer, what, ratio,
               met ? "met" : "MISSED");
  }
  std::fflush(stdout);
  return missed;
}

bool write_json(const std::string& path, const std::vector<SystemStats>& all) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  fmt::print(f, "[\n");
  bool first = true;
  for (const auto& s : all) {
    if (s.rounds == 0) continue;  // a failed system has no figures to report
    fmt::print(f, "{}  {{\"case\": {}, \"system\": {}, \"msgs_per_s\": {:.1f}, \"mb_per_s\": {:.3f}, "
               "\"p50_ns\": {}, \"p99_ns\": {}, \"p999_ns\": {}, \"rounds\": {}}}",
               first ? "" : ",\n", json_string(s.case_name), json_string(s.system), s.msgs_per_s,
               s.mb_per_s, json_number(s.p50_ns), json_number(s.p99_ns), json_number(s.p999_ns),
               s.rounds);
    first = false;
  }
  fmt::print(f, "\n]\n");
  return std::fclose(f) == 0;
}

}  // namespace rill::bench
