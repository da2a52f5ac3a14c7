// Topic end to end: one producer thread, one consumer thread, 100-byte records.
//
// Setup: 2 threads pinned to cores 0 and 1. Every record has a 16-byte key and
// an 84-byte value (see topic_payload.hpp); the consumer checks every record's
// bytes, and per key their order and that none is missing.
//   rill: Node::in_memory(), topic of 4 partitions, 1 MiB capacity each,
//     FullPolicy::block; Producer{batch_bytes = 16 KiB, linger = 5 ms} fed with
//     try_send (on `full` the producer yields and retries), flush() at the
//     end; the record's partition comes from its key (XXH3, 64 keys). One
//     Consumer without a group, assign() of the 4 partitions from the
//     earliest offset, max_poll_records 4096, ConsumerWait::spin_then_yield.
//     Also measured: heap in use (mallinfo2, before and after the timed
//     transfer) and the peak RSS growth (sampled 16 times during it) against
//     the topic's configured capacity.
//   zeromq.inproc: PUSH -> PULL over inproc://, one 100-byte message per
//     record (key then value), default high-water mark (1000): a full pipe
//     blocks the sender, nothing is dropped.
//   moodycamel.concurrentqueue.owned: a ConcurrentQueue of records that own
//     their bytes (std::string key and value, so two allocations per record:
//     16 bytes exceeds libstdc++'s 15-byte inline string), producer and
//     consumer tokens, enqueue; every 64 records the producer yields while
//     size_approx() >= 32768, so the queue stays bounded like the topic.
// Records per round: 10M (full), 500k (--quick); ZeroMQ moves a tenth.
#include <concurrentqueue/concurrentqueue.h>
#include <malloc.h>

#include <memory>

#include "harness.hpp"
#include "peers/zmq_socket.hpp"
#include "rill/consumer.hpp"
#include "rill/node.hpp"
#include "rill/producer.hpp"
#include "topic_payload.hpp"

namespace rill::bench {
namespace {

RunResult checked(std::uint64_t n, double seconds, const PayloadCheck& check) {
  RunResult r = throughput(n, kRecordBytes, seconds);
  r.error = check.error();
  if (r.error.empty() && check.count() != n) {
    r.error = fmt::format("consumer saw {} of {} records", check.count(), n);
  }
  return r;
}

constexpr const char* kTopic = "bench.e2e";
constexpr std::int32_t kPartitions = 4;
constexpr std::size_t kPartitionCapacity = 1024 * 1024;

// Bytes the allocator has handed out and not taken back, over all arenas.
std::uint64_t heap_in_use() noexcept {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

constexpr double kMiB = 1024.0 * 1024.0;

// Sends n records with try_send; on `full` yields and retries, unless the
// consumer gave up (abort), which would otherwise leave it waiting forever.
void produce(rill::Producer& producer, std::uint64_t n, const std::atomic<bool>& abort,
             std::string& error) {
  const KeyTable keys;
  std::array<char, kValueBytes> value{};
  for (std::uint64_t i = 0; i < n; ++i) {
    make_value(i, value.data());
    rill::Record record;
    record.key = keys.key_of(i);
    record.value = std::string_view(value.data(), value.size());
    for (;;) {
      const rill::SendStatus status = producer.try_send(kTopic, record);
      if (status == rill::SendStatus::ok) break;
      if (status != rill::SendStatus::full) {
        error = fmt::format("try_send: {}", rill::to_string(status));
        return;
      }
      if (abort.load(std::memory_order_relaxed)) return;  // relaxed: a stop flag
      std::this_thread::yield();
    }
  }
  producer.flush();
}

RunResult run_rill(const RunConfig& config) {
  const std::uint64_t n = config.messages;
  const std::uint64_t heap_before = heap_in_use();
  const std::uint64_t rss_before = resident_bytes();
  rill::Node node = rill::Node::in_memory();
  rill::TopicOptions topic_options;
  topic_options.partitions = kPartitions;
  topic_options.capacity_bytes = kPartitionCapacity;
  topic_options.full_policy = rill::FullPolicy::block;
  topic_options.block_timeout = std::chrono::milliseconds(5000);  // bounds flush() if the consumer quits
  node.create_topic(kTopic, topic_options);
  rill::ProducerOptions producer_options;
  producer_options.batch_bytes = 16 * 1024;
  producer_options.linger = std::chrono::milliseconds(5);
  rill::Producer producer(node, producer_options);
  rill::ConsumerOptions consumer_options;
  consumer_options.auto_offset_reset = rill::OffsetReset::earliest;
  consumer_options.max_poll_records = 4096;
  consumer_options.wait = rill::ConsumerWait::spin_then_yield;
  rill::Consumer consumer(node, consumer_options);
  std::vector<rill::TopicPartition> partitions;
  for (std::int32_t p = 0; p < kPartitions; ++p) partitions.push_back({kTopic, p});
  consumer.assign(partitions);

  PayloadCheck check;
  std::string produce_error;  // written by the producer thread only
  std::string consume_error;  // written by the consumer thread only
  std::atomic<bool> abort{false};
  const std::uint64_t heap_ready = heap_in_use();
  std::uint64_t rss_peak = resident_bytes();
  const double seconds = run_threads(
      {[&](int) { produce(producer, n, abort, produce_error); },
       [&](int) {
         int idle_polls = 0;
         std::uint64_t next_probe = 0;
         while (check.count() < n && idle_polls < 50 && check.error().empty()) {
           const rill::PollResult batch = consumer.poll(std::chrono::milliseconds(100));
           idle_polls = batch.empty() ? idle_polls + 1 : 0;
           if (batch.lost() != 0 && consume_error.empty()) {
             consume_error = fmt::format("consumer lost {} records", batch.lost());
           }
           for (const rill::RecordView& r : batch) check.check(r.key(), r.value());
           if (check.count() >= next_probe) {  // 16 cheap probes per run
             rss_peak = std::max(rss_peak, resident_bytes());
             next_probe += n / 16 + 1;
           }
         }
         abort.store(true, std::memory_order_relaxed);  // relaxed: a stop flag
       }},
      true);
  RunResult r = checked(n, seconds, check);
  if (r.error.empty()) r.error = consume_error;
  if (r.error.empty()) r.error = produce_error;
  // mallinfo2 walks the allocator's free lists, so it is read only outside
  // the timed transfer; RSS (one small /proc read) is sampled during it.
  const std::uint64_t heap_after = heap_in_use();
  rss_peak = std::max(rss_peak, resident_bytes());
  auto growth = [](std::uint64_t now, std::uint64_t base) {
    return (static_cast<double>(now) - static_cast<double>(base)) / kMiB;
  };
  r.note = fmt::format(
      "memory: heap in use +{:.1f} MiB once the topic exists, +{:.1f} MiB after {} records "
      "({:.0f} MiB) went through; RSS peak +{:.1f} MiB; configured capacity {} x {:.0f} MiB = "
      "{:.0f} MiB",
      growth(heap_ready, heap_before), growth(heap_after, heap_before), n,
      static_cast<double>(n * kRecordBytes) / kMiB, growth(rss_peak, rss_before), kPartitions,
      static_cast<double>(kPartitionCapacity) / kMiB,
      static_cast<double>(kPartitions * kPartitionCapacity) / kMiB);
  return r;
}

RunResult run_zeromq(const RunConfig& config) {
  const std::uint64_t n = config.messages;
  zmq::Context context;
  zmq::Socket push(context, ZMQ_PUSH);
  zmq::Socket pull(context, ZMQ_PULL);
  const std::string endpoint = zmq::inproc_endpoint("topic");
  push.bind(endpoint);
  pull.connect(endpoint);
  pull.set(ZMQ_RCVTIMEO, 5000);
  push.set(ZMQ_SNDTIMEO, 5000);  // a stuck consumer fails the run, never hangs it
  PayloadCheck check;
  std::string send_error;
  const double seconds = run_threads(
      {[&](int) {
         const KeyTable keys;
         std::array<char, kRecordBytes> message{};
         for (std::uint64_t i = 0; i < n; ++i) {
           std::memcpy(message.data(), keys.key_of(i).data(), kKeyBytes);
           make_value(i, message.data() + kKeyBytes);
           if (!push.send(message.data(), message.size())) {
             send_error = "zmq_send failed or timed out";
             return;
           }
         }
       },
       [&](int) {
         std::array<char, kRecordBytes> message{};
         for (std::uint64_t i = 0; i < n; ++i) {
           const int size = pull.receive(message.data(), message.size());
           if (size < 0) return;  // timed out: the count check reports it
           check.check({message.data(), kKeyBytes},
                       {message.data() + kKeyBytes, static_cast<std::size_t>(size) - kKeyBytes});
         }
       }},
      true);
  RunResult r = checked(n, seconds, check);
  if (r.error.empty()) r.error = send_error;
  return r;
}

struct OwnedRecord {
  std::string key;
  std::string value;
};

RunResult run_moodycamel_owned(const RunConfig& config) {
  constexpr std::size_t kCapacity = 32768;
  const std::uint64_t n = config.messages;
  moodycamel::ConcurrentQueue<OwnedRecord> queue(kCapacity);
  PayloadCheck check;
  const double seconds = run_threads(
      {[&](int) {
         const KeyTable keys;
         moodycamel::ProducerToken token(queue);
         std::array<char, kValueBytes> value{};
         for (std::uint64_t i = 0; i < n; ++i) {
           make_value(i, value.data());
           OwnedRecord record{std::string(keys.key_of(i)), std::string(value.data(), value.size())};
           if (i % 64 == 0) {
             while (queue.size_approx() >= kCapacity) std::this_thread::yield();
           }
           if (!queue.enqueue(token, std::move(record))) throw std::bad_alloc();
         }
       },
       [&](int) {
         moodycamel::ConsumerToken token(queue);
         OwnedRecord record;
         for (std::uint64_t i = 0; i < n; ++i) {
           while (!queue.try_dequeue(token, record)) std::this_thread::yield();
           check.check(record.key, record.value);
         }
       }},
      true);
  return checked(n, seconds, check);
}

}  // namespace

void add_topic_cases(std::vector<Case>& cases) {
  Case c{"topic.e2e.100B", 10'000'000, 500'000, {}};
  c.systems.push_back({"rill", run_rill});
  c.systems.push_back({"zeromq.inproc", run_zeromq, 0.1});
  c.systems.push_back({"moodycamel.concurrentqueue.owned", run_moodycamel_owned});
  cases.push_back(std::move(c));
}

}  // namespace rill::bench
