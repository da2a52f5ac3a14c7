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
//
// topic.e2e.100B.2p: the same records from two producer threads, not
// pinned (3 threads on 2 cores), into a topic of ONE partition of 4 MiB
// (the four partitions' capacity above). Both threads share one
// rill::Producer, as a program would (a Producer is thread-safe; what one
// thread sends to a partition keeps its order there). Producer p sends the
// records numbered p, p + 2, p + 4 ..., so each key belongs to one producer
// and the per-key check is a per-producer order check. Peer:
// moodycamel.concurrentqueue.owned with two producers, a token each, the
// same bound. What this measures is two threads appending to one memory
// partition, whose appenders today take the partition's claim word in turn.
//
// topic.e2e.100B.2p: the same records from two producer threads, not
// pinned (3 threads on 2 cores), into a topic of ONE partition of 4 MiB
// (the capacity of the four above). Both threads share one rill::Producer,
// as a program would (a Producer is thread-safe; what one thread sends to a
// partition keeps its order). Producer p sends the records numbered p, p + 2,
// p + 4 ..., so each key belongs to one producer and the per-key check is
// a per-producer order check. Peer: moodycamel.concurrentqueue.owned with two
// producers, a token each, the same bound. This measures appends from two
// threads to one memory partition, which today take the partition's claim
// word in turn.
#include <concurrentqueue/concurrentqueue.h>
#include <malloc.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

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
constexpr std::size_t kTopicCapacity = 4 * 1024 * 1024;

// Bytes the allocator has handed out and not taken back, over all arenas.
std::uint64_t heap_in_use() noexcept {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

constexpr double kMiB = 1024.0 * 1024.0;

// Which records one producer thread sends: first, first + stride, ... (n
// of them in all, over every thread).
struct Share {
  std::uint64_t first = 0;
  std::uint64_t stride = 1;
};

// Sends its share of n records with try_send; on `full` yields and retries,
// unless the consumer gave up (abort), which would otherwise leave it
// waiting forever. flush() at the end.
void produce(rill::Producer& producer, std::uint64_t n, Share share, const std::atomic<bool>& abort,
             std::string& error) {
  const KeyTable keys;
  std::array<char, kValueBytes> value{};
  for (std::uint64_t i = share.first; i < n; i += share.stride) {
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

// One rill system: `producers` threads sharing one Producer, a topic of
// `partitions` partitions holding kTopicCapacity bytes in all.
RunResult run_rill(const RunConfig& config, int producers, std::int32_t partitions) {
  const std::uint64_t n = config.messages;
  const std::size_t partition_capacity = kTopicCapacity / static_cast<std::size_t>(partitions);
  const std::uint64_t heap_before = heap_in_use();
  const std::uint64_t rss_before = resident_bytes();
  rill::Node node = rill::Node::in_memory();
  rill::TopicOptions topic_options;
  topic_options.partitions = partitions;
  topic_options.capacity_bytes = partition_capacity;
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
  std::vector<rill::TopicPartition> assigned;
  for (std::int32_t p = 0; p < partitions; ++p) assigned.push_back({kTopic, p});
  consumer.assign(assigned);

  PayloadCheck check;
  // One per producer thread, written by that thread only.
  std::vector<std::string> produce_errors(static_cast<std::size_t>(producers));
  std::string consume_error;  // written by the consumer thread only
  std::atomic<bool> abort{false};
  const std::uint64_t heap_ready = heap_in_use();
  std::uint64_t rss_peak = resident_bytes();
  std::vector<std::function<void(int)>> bodies;
  for (int p = 0; p < producers; ++p) {
    bodies.emplace_back([&, p](int) {
      const Share share{static_cast<std::uint64_t>(p), static_cast<std::uint64_t>(producers)};
      produce(producer, n, share, abort, produce_errors[static_cast<std::size_t>(p)]);
    });
  }
  bodies.emplace_back([&](int) {
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
  });
  // Two threads on two cores are pinned; more are left to the scheduler.
  const double seconds = run_threads(bodies, producers == 1);
  RunResult r = checked(n, seconds, check);
  if (r.error.empty()) r.error = consume_error;
  for (const std::string& e : produce_errors) {
    if (r.error.empty()) r.error = e;
  }
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
      static_cast<double>(n * kRecordBytes) / kMiB, growth(rss_peak, rss_before), partitions,
      static_cast<double>(partition_capacity) / kMiB, static_cast<double>(kTopicCapacity) / kMiB);
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

RunResult run_moodycamel_owned(const RunConfig& config, int producers) {
  constexpr std::size_t kCapacity = 32768;
  const std::uint64_t n = config.messages;
  moodycamel::ConcurrentQueue<OwnedRecord> queue(kCapacity);
  PayloadCheck check;
  std::vector<std::function<void(int)>> bodies;
  for (int p = 0; p < producers; ++p) {
    bodies.emplace_back([&, p](int) {
      const KeyTable keys;
      moodycamel::ProducerToken token(queue);
      std::array<char, kValueBytes> value{};
      const auto stride = static_cast<std::uint64_t>(producers);
      for (auto i = static_cast<std::uint64_t>(p); i < n; i += stride) {
        make_value(i, value.data());
        OwnedRecord record{std::string(keys.key_of(i)), std::string(value.data(), value.size())};
        if ((i / stride) % 64 == 0) {  // every 64th record of this thread
          while (queue.size_approx() >= kCapacity) std::this_thread::yield();
        }
        if (!queue.enqueue(token, std::move(record))) throw std::bad_alloc();
      }
    });
  }
  bodies.emplace_back([&](int) {
    moodycamel::ConsumerToken token(queue);
    OwnedRecord record;
    for (std::uint64_t i = 0; i < n; ++i) {
      while (!queue.try_dequeue(token, record)) std::this_thread::yield();
      check.check(record.key, record.value);
    }
  });
  return checked(n, run_threads(bodies, producers == 1), check);
}

}  // namespace

void add_topic_cases(std::vector<Case>& cases) {
  Case c{"topic.e2e.100B", 10'000'000, 500'000, {}};
  c.systems.push_back({"rill", [](const RunConfig& r) { return run_rill(r, 1, 4); }});
  c.systems.push_back({"zeromq.inproc", run_zeromq, 0.1});
  c.systems.push_back({"moodycamel.concurrentqueue.owned",
                       [](const RunConfig& r) { return run_moodycamel_owned(r, 1); }});
  cases.push_back(std::move(c));

  Case two{"topic.e2e.100B.2p", 10'000'000, 500'000, {}};
  two.systems.push_back({"rill", [](const RunConfig& r) { return run_rill(r, 2, 1); }});
  two.systems.push_back({"moodycamel.concurrentqueue.owned",
                         [](const RunConfig& r) { return run_moodycamel_owned(r, 2); }});
  cases.push_back(std::move(two));
}

}  // namespace rill::bench
