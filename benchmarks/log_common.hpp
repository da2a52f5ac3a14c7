// What the durable-log cases share: their records, rill's topic and producer
// settings, and the cases defined outside log_bench.cpp.
//
// Record i of a log case has no key and a value of `value_bytes` bytes: i as
// 8 little-endian bytes, then a fixed filler pattern (byte j is (j * 131) &
// 0xff). Readers check the number against the record's position and the
// last byte against the pattern.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"
#include "rill/options.hpp"
#include "rill/producer.hpp"

namespace rill::bench {

inline constexpr const char* kLogTopic = "bench.log";
// rill's producer batch, and the unit every peer batches, syncs or
// pipelines by in the log cases.
inline constexpr std::size_t kLogBatchBytes = 64 * 1024;
// rill's batch header (docs/log_format.md).
inline constexpr std::size_t kBatchHeaderBytes = 64;
// Record framing around a keyless value of 128..8191 bytes: length (2),
// attributes (1), timestamp delta (1-2), offset delta (1-2), key length
// (1), value length (2), header count (1).
inline constexpr std::size_t kRecordFramingBytes = 10;

// How many records of `value_bytes` one kLogBatchBytes batch holds.
[[nodiscard]] constexpr std::size_t records_per_batch(std::size_t value_bytes) noexcept {
  return (kLogBatchBytes - kBatchHeaderBytes) / (value_bytes + kRecordFramingBytes);
}

[[nodiscard]] inline char log_filler(std::size_t index) noexcept {
  return static_cast<char>(static_cast<unsigned char>((index * 131) & 0xff));
}

// A value buffer holding the filler pattern; set_seq writes a record's number.
class LogValue {
 public:
  explicit LogValue(std::size_t size) : bytes_(size) {
    for (std::size_t j = 0; j < size; ++j) bytes_[j] = log_filler(j);
  }
  void set_seq(std::uint64_t seq) noexcept { std::memcpy(bytes_.data(), &seq, sizeof(seq)); }
  [[nodiscard]] std::string_view view() const noexcept { return {bytes_.data(), bytes_.size()}; }
  [[nodiscard]] const char* data() const noexcept { return bytes_.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }

 private:
  std::vector<char> bytes_;
};

// True when `value` is record `seq` of `size` bytes.
[[nodiscard]] inline bool is_log_value(std::uint64_t seq, std::string_view value,
                                       std::size_t size) noexcept {
  if (value.size() != size || size < sizeof(seq)) return false;
  std::uint64_t got = 0;
  std::memcpy(&got, value.data(), sizeof(got));
  return got == seq && value.back() == log_filler(size - 1);
}

// A durable topic of one partition with the given fsync policy and the
// node's default segment size (64 MiB).
[[nodiscard]] rill::TopicOptions log_topic_options(rill::FsyncPolicy fsync);
// batch_bytes = kLogBatchBytes, linger 5 ms: batches close when full.
[[nodiscard]] rill::ProducerOptions log_producer_options();
// Sends records 0..n-1 of `value_bytes` to kLogTopic with try_send (on
// `full` it yields and retries), then flush(). Returns "" or what failed.
[[nodiscard]] std::string produce_log_values(rill::Producer& producer, std::uint64_t n,
                                             std::size_t value_bytes);
// The same without the flush (several threads may share the producer).
[[nodiscard]] std::string send_log_values(rill::Producer& producer, std::uint64_t n,
                                          std::size_t value_bytes);

// log.recover.1GiB and log.bytes_per_record (log_recover_bench.cpp).
void add_log_recover_cases(std::vector<Case>& cases);

// The peers (log_peers.cpp): XADD to a redis-server and JetStream publish to
// a nats-server, each started for the run. `sync_each_batch` asks the peer
// to sync before acknowledging (redis: appendfsync always); `window` is the
// number of records in flight (redis: pipeline depth; NATS: MaxPending).
[[nodiscard]] RunResult run_redis_xadd(std::uint64_t n, std::size_t value_bytes,
                                       bool sync_each_batch, std::size_t window);
[[nodiscard]] RunResult run_nats_jetstream(std::uint64_t n, std::size_t value_bytes,
                                           bool sync_each_batch, std::size_t window);

}  // namespace rill::bench
