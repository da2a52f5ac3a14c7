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

enum class Kind {
  kThroughputAtLeast,    // rill msgs/s / peer msgs/s >= bound
  kP50AtMost,            // rill p50 / peer p50 <= bound
  kTimeAtMost,           // time for the same bytes: peer MB/s / rill MB/s <= bound
  kSecondsPerGiBAtMost,  // absolute: rill's seconds per GiB (2^30 bytes) <= bound; no peer
};

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
    // The two-thread floor of moving 1 KiB blocks between cores, with one
    // synchronisation per 16 blocks; a queue adds one line per item to the
    // block's 16, so 0.8x leaves room for that and little else.
    {"ring.spsc.1KiB", "limit.crosscore_copy", Kind::kThroughputAtLeast, 0.8},
    {"ring.spsc.1KiB", "boost.spsc_queue", Kind::kThroughputAtLeast, 1.5},
    {"ring.spsc.8B.bulk", "boost.spsc_queue", Kind::kThroughputAtLeast, 1.2},
    {"ring.spsc.rtt", "boost.spsc_queue", Kind::kP50AtMost, 0.6},
    {"ring.spsc.rtt", "limit.atomic_pingpong", Kind::kP50AtMost, 1.5},
    {"ring.mpsc.2p1c.8B", "moodycamel.concurrentqueue", Kind::kThroughputAtLeast, 1.2},
    {"ring.mpmc.2p2c.8B", "moodycamel.concurrentqueue", Kind::kThroughputAtLeast, 1.2},
    {"ring.broadcast.1p2c.64B", "zeromq.pubsub.inproc", Kind::kThroughputAtLeast, 10.0},
    {"ring.frames.2p1c.100B", "moodycamel.concurrentqueue.owned", Kind::kThroughputAtLeast, 1.0},
    {"topic.e2e.100B", "zeromq.inproc", Kind::kThroughputAtLeast, 10.0},
    {"topic.e2e.100B", "moodycamel.concurrentqueue.owned", Kind::kThroughputAtLeast, 2.0},
    // Two threads sharing one Producer into one memory partition, whose
    // appends take the partition's claim word in turn (see topic_bench.cpp).
    {"topic.e2e.100B.2p", "moodycamel.concurrentqueue.owned", Kind::kThroughputAtLeast, 1.0},
    {"log.append.100B.nosync", "redis.xadd", Kind::kThroughputAtLeast, 20.0},
    {"log.append.100B.nosync", "nats.jetstream", Kind::kThroughputAtLeast, 20.0},
    {"log.append.100B.nosync", "raw.write", Kind::kThroughputAtLeast, 0.6},
    {"log.append.1KiB.nosync", "redis.xadd", Kind::kThroughputAtLeast, 20.0},
    {"log.append.1KiB.nosync", "nats.jetstream", Kind::kThroughputAtLeast, 20.0},
    {"log.append.1KiB.nosync", "raw.write", Kind::kThroughputAtLeast, 0.6},
    {"log.append.1KiB.fsync_batch", "raw.write_fdatasync", Kind::kThroughputAtLeast, 0.9},
    // Four threads sharing one Producer into one every_batch partition,
    // whose concurrent batches share fdatasyncs (group commit).
    {"log.append.1KiB.fsync_batch.4p", "raw.write_fdatasync", Kind::kThroughputAtLeast, 0.9},
    {"log.read.1KiB", "limit.memcpy", Kind::kThroughputAtLeast, 0.5},
    {"log.recover.1GiB", "", Kind::kSecondsPerGiBAtMost, 1.0},
    {"log.recover.1GiB", "raw.read", Kind::kTimeAtMost, 1.2},
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
  fmt::print("{:<28} {:<34} {:>9} {:>10} {:>8} {:>8} {:>8} {:>6}  {}\n", "case", "system", "msgs/s",
             "MB/s", "p50 ns", "p99 ns", "p99.9 ns", "rounds", "durability");
  std::fflush(stdout);
}

void print_case(const std::vector<SystemStats>& rows) {
  if (rows.empty()) return;
  for (const auto& s : rows) {
    if (s.rounds == 0) {
      if (s.error.empty() && !s.skipped.empty()) {
        fmt::print("{:<28} {:<34} skipped: {}\n", s.case_name, s.system, s.skipped);
      } else {
        fmt::print("{:<28} {:<34} FAILED: {}\n", s.case_name, s.system, s.error);
      }
      continue;
    }
    const std::string rate = s.measures_rate ? human_rate(s.msgs_per_s) : "-";
    const std::string mb = s.measures_rate ? fmt::format("{:.1f}", s.mb_per_s) : "-";
    fmt::print("{:<28} {:<34} {:>9} {:>10} {:>8} {:>8} {:>8} {:>6}  {}\n", s.case_name, s.system,
               rate, mb, latency_cell(s.p50_ns), latency_cell(s.p99_ns), latency_cell(s.p999_ns),
               s.rounds, s.durability);
    if (!s.error.empty()) fmt::print("{:<28}   (a round failed: {})\n", "", s.error);
  }
  const SystemStats* rill = find(rows, rows.front().case_name, kRill);
  std::string ratios;
  for (const auto& s : rows) {
    if (rill == nullptr || !rill->measures_rate || s.system == kRill || s.rounds == 0 ||
        !s.measures_rate || s.msgs_per_s <= 0) {
      continue;
    }
    ratios += fmt::format("  vs {} {:.2f}x", s.system, rill->msgs_per_s / s.msgs_per_s);
    if (rill->p50_ns && s.p50_ns && *s.p50_ns > 0) {
      ratios += fmt::format(" (p50 {:.2f}x)", *rill->p50_ns / *s.p50_ns);
    }
  }
  if (!ratios.empty()) fmt::print("{:<28}   rill msgs/s{}\n", "", ratios);
  for (const auto& s : rows) {
    if (s.rounds > 0 && !s.figures.empty()) {
      std::string figures;
      for (const auto& [name, value] : s.figures) {
        figures += fmt::format("{}{} {:.6g}", figures.empty() ? "" : ", ", name, value);
      }
      fmt::print("{:<28}   {}: {}\n", "", s.system, figures);
    }
    if (!s.note.empty()) fmt::print("{:<28}   {}: {}\n", "", s.system, s.note);
  }
  std::fflush(stdout);
}

namespace {

// The measured ratio of one target, or nullopt when its systems did not run.
std::optional<double> target_ratio(const Target& t, const std::vector<SystemStats>& all) {
  const SystemStats* rill = find(all, t.case_name, kRill);
  if (rill == nullptr || !rill->measures_rate || rill->mb_per_s <= 0) return std::nullopt;
  if (t.kind == Kind::kSecondsPerGiBAtMost) return 1073741824.0 / (rill->mb_per_s * 1e6);
  const SystemStats* peer = find(all, t.case_name, t.peer);
  if (peer == nullptr || !peer->measures_rate) return std::nullopt;
  switch (t.kind) {
    case Kind::kThroughputAtLeast: return rill->msgs_per_s / peer->msgs_per_s;
    case Kind::kTimeAtMost: return peer->mb_per_s / rill->mb_per_s;
    case Kind::kP50AtMost:
      if (!rill->p50_ns || !peer->p50_ns) return std::nullopt;
      return *rill->p50_ns / *peer->p50_ns;
    case Kind::kSecondsPerGiBAtMost: break;
  }
  return std::nullopt;
}

std::string target_text(const Target& t) {
  switch (t.kind) {
    case Kind::kThroughputAtLeast: return fmt::format("msgs/s >= {:.1f}x", t.bound);
    case Kind::kP50AtMost: return fmt::format("p50 <= {:.1f}x", t.bound);
    case Kind::kTimeAtMost: return fmt::format("time <= {:.1f}x", t.bound);
    case Kind::kSecondsPerGiBAtMost: return fmt::format("<= {:.1f} s/GiB", t.bound);
  }
  return "";
}

}  // namespace

int print_targets(const std::vector<SystemStats>& all) {
  fmt::print("\ntargets (rill vs a peer, same run)\n");
  int missed = 0;
  for (const auto& t : kTargets) {
    const std::string what = target_text(t);
    const std::string peer = *t.peer == '\0' ? std::string("(absolute)") : t.peer;
    const std::optional<double> ratio = target_ratio(t, all);
    if (!ratio) {
      fmt::print("  {:<28} {:<34} {:<16} {:>8}  not run\n", t.case_name, peer, what, "-");
      continue;
    }
    const bool at_least = t.kind == Kind::kThroughputAtLeast;
    const bool met = at_least ? *ratio >= t.bound : *ratio <= t.bound;
    if (!met) ++missed;
    const std::string unit = t.kind == Kind::kSecondsPerGiBAtMost ? "s" : "x";
    fmt::print("  {:<28} {:<34} {:<16} {:>7.2f}{}  {}\n", t.case_name, peer, what, *ratio, unit,
               met ? "met" : "MISSED");
  }
  std::fflush(stdout);
  return missed;
}

namespace {

std::string json_figures(const SystemStats& s) {
  if (s.figures.empty()) return "";
  std::string out = ", \"figures\": {";
  for (std::size_t i = 0; i < s.figures.size(); ++i) {
    out += fmt::format("{}{}: {:.10g}", i == 0 ? "" : ", ", json_string(s.figures[i].first),
                       s.figures[i].second);
  }
  return out + "}";
}

std::string json_row(const SystemStats& s) {
  const bool rated = s.rounds > 0 && s.measures_rate;
  std::string row = fmt::format(
      "{{\"case\": {}, \"system\": {}, \"msgs_per_s\": {}, \"mb_per_s\": {}, \"p50_ns\": {}, "
      "\"p99_ns\": {}, \"p999_ns\": {}, \"rounds\": {}, \"durability\": {}",
      json_string(s.case_name), json_string(s.system),
      rated ? fmt::format("{:.1f}", s.msgs_per_s) : "null",
      rated ? fmt::format("{:.3f}", s.mb_per_s) : "null", json_number(s.p50_ns),
      json_number(s.p99_ns), json_number(s.p999_ns), s.rounds,
      s.durability.empty() ? std::string("null") : json_string(s.durability));
  if (s.rounds == 0) row += fmt::format(", \"skipped\": {}", json_string(s.skipped));
  return row + json_figures(s) + "}";
}

}  // namespace

bool write_json(const std::string& path, const std::vector<SystemStats>& all) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  fmt::print(f, "[\n");
  bool first = true;
  for (const auto& s : all) {
    // A failed system has no figures to report; a skipped one says why.
    if (s.rounds == 0 && (s.skipped.empty() || !s.error.empty())) continue;
    fmt::print(f, "{}  {}", first ? "" : ",\n", json_row(s));
    first = false;
  }
  fmt::print(f, "\n]\n");
  return std::fclose(f) == 0;
}

}  // namespace rill::bench
