// to_prometheus: a NodeMetrics snapshot in the Prometheus text exposition
// format, version 0.0.4 (metrics.hpp).
//
// Each metric family is written whole: "# HELP", "# TYPE", then all its
// samples, so a family's samples are contiguous and every name appears in
// one family only. Families without samples are left out. Counters end in
// "_total"; the sync histogram is in seconds, the unit Prometheus expects.
#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rill/metrics.hpp"

namespace rill {
namespace {

using Label = std::pair<std::string_view, std::string_view>;

class TextWriter {
 public:
  // Writes the HELP and TYPE lines of a family that has samples.
  void family(std::string_view name, std::string_view help, std::string_view type) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (const char c : help) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    fmt::format_to(std::back_inserter(out_), "\n# TYPE {} {}\n", name, type);
  }

  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value) {
    begin_sample(name, labels);
    fmt::format_to(std::back_inserter(out_), " {}\n", value);
  }
  void sample_seconds(std::string_view name, std::initializer_list<Label> labels, std::uint64_t ns) {
    begin_sample(name, labels);
    fmt::format_to(std::back_inserter(out_), " {}\n", static_cast<double>(ns) / 1e9);
  }

  [[nodiscard]] std::string take() { return std::move(out_); }

 private:
  void begin_sample(std::string_view name, std::initializer_list<Label> labels) {
    out_ += name;
    if (labels.size() == 0) return;
    out_ += '{';
    bool first = true;
    for (const auto& [key, value] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += key;
      out_ += "=\"";
      escape_label_value(value);
      out_ += '"';
    }
    out_ += '}';
  }

  void escape_label_value(std::string_view value) {
    for (const char c : value) {
      switch (c) {
        case '\\': out_ += "\\\\"; break;
        case '"': out_ += "\\\""; break;
        case '\n': out_ += "\\n"; break;
        default: out_ += c;
      }
    }
  }

  std::string out_;
};

// One metric of every partition (or of durable partitions only).
struct PartitionFamily {
  const char* name;
  const char* help;
  const char* type;
  bool durable_only;
  std::uint64_t (*value)(const PartitionMetrics&);
};

template <class Value>
constexpr std::uint64_t as_count(Value v) noexcept {
  return v < 0 ? 0 : static_cast<std::uint64_t>(v);
}

constexpr PartitionFamily kPartitionFamilies[] = {
    {"rill_partition_records_appended_total", "Records appended to the partition.", "counter", false,
     [](const PartitionMetrics& p) { return p.records_appended; }},
    {"rill_partition_bytes_appended_total", "Encoded batch bytes appended to the partition.", "counter", false,
     [](const PartitionMetrics& p) { return p.bytes_appended; }},
    {"rill_partition_batches_appended_total", "Batches appended to the partition.", "counter", false,
     [](const PartitionMetrics& p) { return p.batches_appended; }},
    {"rill_partition_full_events_total", "Appends that found the partition full (refused or made to wait).",
     "counter", false, [](const PartitionMetrics& p) { return p.full_events; }},
    {"rill_partition_records_lost_total", "Records removed before a consumer read them, as consumers reported.",
     "counter", false, [](const PartitionMetrics& p) { return p.records_lost; }},
    {"rill_partition_start_offset", "The oldest retained offset.", "gauge", false,
     [](const PartitionMetrics& p) { return as_count(p.start_offset); }},
    {"rill_partition_end_offset", "The offset the next appended record gets.", "gauge", false,
     [](const PartitionMetrics& p) { return as_count(p.end_offset); }},
    {"rill_partition_retained_bytes", "Bytes of batches retained.", "gauge", false,
     [](const PartitionMetrics& p) { return static_cast<std::uint64_t>(p.retained_bytes); }},
    {"rill_partition_syncs_total", "fdatasync rounds of the partition's segment files.", "counter", true,
     [](const PartitionMetrics& p) { return p.syncs; }},
    {"rill_partition_sync_failures_total", "Syncs that failed (the partition then refuses writes).", "counter",
     true, [](const PartitionMetrics& p) { return p.sync_failures; }},
    {"rill_partition_truncations_at_recovery_total", "Torn tails cut or damage repaired when the node opened.",
     "counter", true, [](const PartitionMetrics& p) { return p.truncations_at_recovery; }},
    {"rill_partition_bytes_truncated_at_recovery_total", "Bytes zeroed by cuts made when the node opened.",
     "counter", true, [](const PartitionMetrics& p) { return p.bytes_truncated_at_recovery; }},
};

void write_partitions(TextWriter& w, const NodeMetrics& m) {
  bool any = false;
  bool any_durable = false;
  for (const TopicMetrics& t : m.topics) {
    any = any || !t.partitions.empty();
    any_durable = any_durable || (t.storage == StorageKind::durable && !t.partitions.empty());
  }
  for (const PartitionFamily& f : kPartitionFamilies) {
    if (!(f.durable_only ? any_durable : any)) continue;
    w.family(f.name, f.help, f.type);
    for (const TopicMetrics& t : m.topics) {
      if (f.durable_only && t.storage != StorageKind::durable) continue;
      for (const PartitionMetrics& p : t.partitions) {
        const std::string partition = std::to_string(p.partition);
        w.sample(f.name, {{"topic", t.name}, {"partition", partition}}, f.value(p));
      }
    }
  }
}

void write_sync_histogram(TextWriter& w, const NodeMetrics& m) {
  constexpr std::string_view kName = "rill_partition_sync_duration_seconds";
  bool header = false;
  for (const TopicMetrics& t : m.topics) {
    if (t.storage != StorageKind::durable) continue;
    for (const PartitionMetrics& p : t.partitions) {
      if (!header) {
        w.family(kName, "Duration of successful syncs.", "histogram");
        header = true;
      }
      const std::string partition = std::to_string(p.partition);
      const LatencyHistogram& h = p.sync_latency;
      for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        const std::string le = fmt::format("{}", static_cast<double>(LatencyHistogram::kBoundsNs[i]) / 1e9);
        w.sample("rill_partition_sync_duration_seconds_bucket",
                 {{"topic", t.name}, {"partition", partition}, {"le", le}}, h.buckets[i]);
      }
      w.sample("rill_partition_sync_duration_seconds_bucket",
               {{"topic", t.name}, {"partition", partition}, {"le", "+Inf"}}, h.count);
      w.sample_seconds("rill_partition_sync_duration_seconds_sum", {{"topic", t.name}, {"partition", partition}},
                       h.sum_ns);
      w.sample("rill_partition_sync_duration_seconds_count", {{"topic", t.name}, {"partition", partition}},
               h.count);
    }
  }
  if (!header) return;
  w.family("rill_partition_sync_duration_max_seconds", "The longest successful sync.", "gauge");
  for (const TopicMetrics& t : m.topics) {
    if (t.storage != StorageKind::durable) continue;
    for (const PartitionMetrics& p : t.partitions) {
      const std::string partition = std::to_string(p.partition);
      w.sample_seconds("rill_partition_sync_duration_max_seconds", {{"topic", t.name}, {"partition", partition}},
                       p.sync_latency.max_ns);
    }
  }
}

// One metric of every producer (or consumer), labelled by client_id.
template <class Client>
struct ClientFamily {
  const char* name;
  const char* help;
  const char* type;
  std::uint64_t (*value)(const Client&);
};

constexpr ClientFamily<ProducerMetrics> kProducerFamilies[] = {
    {"rill_producer_records_sent_total", "Records in batches the partitions took.", "counter",
     [](const ProducerMetrics& p) { return p.records_sent; }},
    {"rill_producer_bytes_sent_total", "Encoded batch bytes the partitions took.", "counter",
     [](const ProducerMetrics& p) { return p.bytes_sent; }},
    {"rill_producer_batches_sent_total", "Batches the partitions took.", "counter",
     [](const ProducerMetrics& p) { return p.batches_sent; }},
    {"rill_producer_records_in_open_batches", "Records accepted into batches not appended yet.", "gauge",
     [](const ProducerMetrics& p) { return p.records_in_open_batches; }},
};

constexpr ClientFamily<ConsumerMetrics> kConsumerFamilies[] = {
    {"rill_consumer_polls_total", "Calls of poll().", "counter",
     [](const ConsumerMetrics& c) { return c.polls; }},
    {"rill_consumer_records_polled_total", "Records poll() returned.", "counter",
     [](const ConsumerMetrics& c) { return c.records_polled; }},
    {"rill_consumer_bytes_polled_total", "Key and value bytes of the records poll() returned.", "counter",
     [](const ConsumerMetrics& c) { return c.bytes_polled; }},
    {"rill_consumer_records_lost_total", "Records reported lost to the consumer.", "counter",
     [](const ConsumerMetrics& c) { return c.records_lost; }},
};

template <class Client, std::size_t N>
void write_clients(TextWriter& w, const std::vector<Client>& clients, const ClientFamily<Client> (&families)[N]) {
  if (clients.empty()) return;
  for (const ClientFamily<Client>& f : families) {
    w.family(f.name, f.help, f.type);
    for (const Client& c : clients) w.sample(f.name, {{"client_id", c.client_id}}, f.value(c));
  }
}

void write_send_errors(TextWriter& w, const std::vector<ProducerMetrics>& producers) {
  if (producers.empty()) return;
  constexpr std::string_view kName = "rill_producer_send_errors_total";
  w.family(kName, "Batches whose append was refused, by reason.", "counter");
  for (const ProducerMetrics& p : producers) {
    const SendErrorCounts& e = p.send_errors;
    for (const auto& [reason, count] : {std::pair{"full", e.full}, std::pair{"timed_out", e.timed_out},
                                        std::pair{"too_large", e.too_large}, std::pair{"failed", e.failed}}) {
      w.sample(kName, {{"client_id", p.client_id}, {"reason", reason}}, count);
    }
  }
}

void write_consumer_partitions(TextWriter& w, const std::vector<ConsumerMetrics>& consumers) {
  bool any = false;
  for (const ConsumerMetrics& c : consumers) any = any || !c.partitions.empty();
  if (!any) return;
  struct Gauge {
    const char* name;
    const char* help;
    std::int64_t ConsumerPartitionMetrics::*field;
  };
  for (const Gauge& g : {Gauge{"rill_consumer_lag", "Records between the consumer's position and the end.",
                               &ConsumerPartitionMetrics::lag},
                         Gauge{"rill_consumer_position", "The next offset the consumer reads.",
                               &ConsumerPartitionMetrics::position}}) {
    w.family(g.name, g.help, "gauge");
    for (const ConsumerMetrics& c : consumers) {
      for (const ConsumerPartitionMetrics& p : c.partitions) {
        const std::string partition = std::to_string(p.partition.partition);
        w.sample(g.name, {{"client_id", c.client_id}, {"topic", p.partition.topic}, {"partition", partition}},
                 as_count(p.*g.field));
      }
    }
  }
}

}  // namespace

std::string to_prometheus(const NodeMetrics& metrics) {
  TextWriter w;
  write_partitions(w, metrics);
  write_sync_histogram(w, metrics);
  write_clients(w, metrics.producers, kProducerFamilies);
  write_send_errors(w, metrics.producers);
  write_clients(w, metrics.consumers, kConsumerFamilies);
  write_consumer_partitions(w, metrics.consumers);
  return w.take();
}

}  // namespace rill
