// The durable-log peers: redis-server (XADD to a stream, append-only file)
// and nats-server (JetStream file-store stream), each started for one run on
// a free loopback port with a scratch directory, and stopped after it.
//
//   redis.xadd: redis-server --appendonly yes --appendfsync no|always
//     --save "" (no RDB snapshots); hiredis, pipelined XADD bench * v <value>
//     in windows of `window` commands (append them all, then read every
//     reply); XLEN must equal the records sent.
//   nats.jetstream: nats-server -c <config> with jetstream { store_dir },
//     one stream "bench" (file storage, subject "bench"); libnats
//     js_PublishAsync with PublishAsync.MaxPending = window, then
//     js_PublishAsyncComplete; no publish may fail and the stream must hold
//     every record. With sync_each_batch the config also asks for
//     sync_interval: always; a server that rejects the field (2.9.x) runs
//     without it and the row's note says so.
//
// A peer whose server or client library is missing returns a skipped row.
// Start-up (server start, connection, stream creation) is not timed.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "log_common.hpp"
#include "peer_process.hpp"

#if RILL_BENCH_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif
#if RILL_BENCH_HAVE_NATS
#include <nats/nats.h>
#endif

namespace rill::bench {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);

#if RILL_BENCH_HAVE_HIREDIS

// A hiredis connection, freed on scope exit.
class RedisConnection {
 public:
  explicit RedisConnection(std::uint16_t port) {
    const timeval timeout{5, 0};
    context_ = redisConnectWithTimeout("127.0.0.1", port, timeout);
    if (context_ == nullptr || context_->err != 0) {
      const std::string why = context_ != nullptr ? context_->errstr : "out of memory";
      if (context_ != nullptr) redisFree(context_);
      throw std::runtime_error("redis connect: " + why);
    }
  }
  ~RedisConnection() { redisFree(context_); }
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  [[nodiscard]] redisContext* get() const noexcept { return context_; }

 private:
  redisContext* context_ = nullptr;
};

// Reads one reply; returns its type and, for integers, its value.
int read_reply(redisContext* c, long long* integer = nullptr) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
    throw std::runtime_error(std::string("redis reply: ") + c->errstr);
  }
  auto* reply = static_cast<redisReply*>(raw);
  const int type = reply->type;
  if (integer != nullptr) *integer = reply->integer;
  freeReplyObject(reply);
  return type;
}

// Waits until the server answers PING (it loads its append-only file first).
void wait_for_pong(redisContext* c) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    redisAppendCommand(c, "PING");
    if (read_reply(c) == REDIS_REPLY_STATUS) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("redis-server never answered PING");
}

// Sends records in windows of `window` pipelined XADDs; returns "" or an error.
std::string xadd_all(redisContext* c, std::uint64_t n, std::size_t value_bytes,
                     std::size_t window) {
  LogValue value(value_bytes);
  for (std::uint64_t first = 0; first < n; first += window) {
    const std::uint64_t count = std::min<std::uint64_t>(window, n - first);
    for (std::uint64_t i = first; i < first + count; ++i) {
      value.set_seq(i);
      if (redisAppendCommand(c, "XADD bench * v %b", value.data(), value.size()) != REDIS_OK) {
        return "redisAppendCommand failed";
      }
    }
    for (std::uint64_t i = 0; i < count; ++i) {
      if (read_reply(c) != REDIS_REPLY_STRING) return fmt::format("XADD {} failed", first + i);
    }
  }
  return "";
}

#endif  // RILL_BENCH_HAVE_HIREDIS

#if RILL_BENCH_HAVE_NATS

// Whether nats-server accepts `sync_interval: always`; learned at the first
// synced run (a server that does not know the field refuses to start).
std::optional<bool> nats_sync_always_supported;

std::vector<std::string> nats_args(const std::filesystem::path& dir, std::uint16_t port,
                                   bool sync) {
  const auto config = dir / "nats.conf";
  std::ofstream out(config);
  out << fmt::format("listen: \"127.0.0.1:{}\"\njetstream {{\n  store_dir: \"{}\"\n{}}}\n", port,
                     (dir / "js").string(), sync ? "  sync_interval: always\n" : "");
  return {"-c", config.string()};
}

// Starts nats-server, asking for sync_interval: always when `sync` and the
// server supports it; returns the server and whether the sync is in force.
std::pair<StartedPeer, bool> start_nats(const std::filesystem::path& program,
                                        const std::filesystem::path& dir, bool sync) {
  const auto log = dir / "nats.log";
  if (sync && nats_sync_always_supported.value_or(true)) {
    try {
      StartedPeer peer = start_peer(
          program, [&](std::uint16_t p) { return nats_args(dir, p, true); }, log, kStartTimeout);
      nats_sync_always_supported = true;
      return {std::move(peer), true};
    } catch (const std::runtime_error& e) {
      if (std::string_view(e.what()).find("sync_interval") == std::string_view::npos) throw;
      nats_sync_always_supported = false;
    }
  }
  return {
      start_peer(
          program, [&](std::uint16_t p) { return nats_args(dir, p, false); }, log, kStartTimeout),
      false};
}

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) throw std::runtime_error(fmt::format("{}: {}", what, natsStatus_GetText(s)));
}

// A connection, its JetStream context and the stream "bench"; freed on exit.
class NatsStream {
 public:
  NatsStream(std::uint16_t port, std::size_t window) {
    check(natsConnection_ConnectTo(&connection_, fmt::format("nats://127.0.0.1:{}", port).c_str()),
          "nats connect");
    jsOptions options;
    jsOptions_Init(&options);
    options.PublishAsync.MaxPending = static_cast<std::int64_t>(window);
    options.PublishAsync.ErrHandler = [](jsCtx*, jsPubAckErr*, void* closure) {
      // relaxed: a counter read after js_PublishAsyncComplete has returned
      static_cast<std::atomic<int>*>(closure)->fetch_add(1, std::memory_order_relaxed);
    };
    options.PublishAsync.ErrHandlerClosure = &failed_;
    check(natsConnection_JetStream(&js_, connection_, &options), "nats JetStream context");
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    const char* subjects[] = {"bench"};
    config.Name = "bench";
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    jsStreamInfo* info = nullptr;
    check(js_AddStream(&info, js_, &config, nullptr, nullptr), "js_AddStream");
    jsStreamInfo_Destroy(info);
  }
  ~NatsStream() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(connection_);
  }
  NatsStream(const NatsStream&) = delete;
  NatsStream& operator=(const NatsStream&) = delete;

  [[nodiscard]] jsCtx* js() const noexcept { return js_; }
  // relaxed: read after js_PublishAsyncComplete, which waited for every ack
  [[nodiscard]] int failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t stored_messages() const {
    jsStreamInfo* info = nullptr;
    check(js_GetStreamInfo(&info, js_, "bench", nullptr, nullptr), "js_GetStreamInfo");
    const std::uint64_t messages = info->State.Msgs;
    jsStreamInfo_Destroy(info);
    return messages;
  }

 private:
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  std::atomic<int> failed_{0};
};

// Publishes records 0..n-1 and waits for every ack; returns "" or an error.
std::string publish_all(jsCtx* js, std::uint64_t n, std::size_t value_bytes) {
  LogValue value(value_bytes);
  for (std::uint64_t i = 0; i < n; ++i) {
    value.set_seq(i);
    const natsStatus s =
        js_PublishAsync(js, "bench", value.data(), static_cast<int>(value.size()), nullptr);
    if (s != NATS_OK) return fmt::format("js_PublishAsync {}: {}", i, natsStatus_GetText(s));
  }
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = 60'000;
  const natsStatus completed = js_PublishAsyncComplete(js, &options);
  if (completed != NATS_OK) {
    return fmt::format("js_PublishAsyncComplete: {}", natsStatus_GetText(completed));
  }
  return "";
}

#endif  // RILL_BENCH_HAVE_NATS

}  // namespace

RunResult run_redis_xadd([[maybe_unused]] std::uint64_t n, [[maybe_unused]] std::size_t value_bytes,
                         [[maybe_unused]] bool sync_each_batch,
                         [[maybe_unused]] std::size_t window) {
  RunResult r;
#if !RILL_BENCH_HAVE_HIREDIS
  r.skipped = "built without hiredis (install libhiredis-dev and reconfigure)";
#else
  const auto program = find_program("redis-server");
  if (!program) {
    r.skipped = "redis-server not found";
    return r;
  }
  const ScratchDir dir("rill-bench-redis");
  const StartedPeer peer = start_peer(
      *program,
      [&](std::uint16_t port) {
        return std::vector<std::string>{"--port",        std::to_string(port),
                                        "--bind",        "127.0.0.1",
                                        "--dir",         dir.path().string(),
                                        "--appendonly",  "yes",
                                        "--appendfsync", sync_each_batch ? "always" : "no",
                                        "--save",        "",
                                        "--daemonize",   "no",
                                        "--logfile",     ""};
      },
      dir.path() / "redis.log", kStartTimeout);
  const RedisConnection connection(peer.port);
  wait_for_pong(connection.get());
  const auto start = Clock::now();
  const std::string error = xadd_all(connection.get(), n, value_bytes, window);
  r = throughput(n, value_bytes, seconds_since(start));
  r.error = error;
  long long length = 0;
  redisAppendCommand(connection.get(), "XLEN bench");
  if (r.error.empty() && (read_reply(connection.get(), &length) != REDIS_REPLY_INTEGER ||
                          static_cast<std::uint64_t>(length) != n)) {
    r.error = fmt::format("XLEN is {}, expected {}", length, n);
  }
  r.note = fmt::format("pipeline window {} XADDs", window);
#endif
  return r;
}

RunResult run_nats_jetstream([[maybe_unused]] std::uint64_t n,
                             [[maybe_unused]] std::size_t value_bytes,
                             [[maybe_unused]] bool sync_each_batch,
                             [[maybe_unused]] std::size_t window) {
  RunResult r;
#if !RILL_BENCH_HAVE_NATS
  r.skipped = "built without libnats (install libnats-dev and reconfigure)";
#else
  const auto program = find_program("nats-server");
  if (!program) {
    r.skipped = "nats-server not found";
    return r;
  }
  const ScratchDir dir("rill-bench-nats");
  const auto [peer, synced] = start_nats(*program, dir.path(), sync_each_batch);
  const NatsStream stream(peer.port, window);
  const auto start = Clock::now();
  const std::string error = publish_all(stream.js(), n, value_bytes);
  r = throughput(n, value_bytes, seconds_since(start));
  r.error = error;
  if (r.error.empty() && stream.failed() != 0) {
    r.error = fmt::format("{} publishes failed", stream.failed());
  }
  if (r.error.empty() && stream.stored_messages() != n) {
    r.error = fmt::format("stream holds {} of {} records", stream.stored_messages(), n);
  }
  r.note = fmt::format("MaxPending {}", window);
  if (sync_each_batch && !synced) {
    r.durability = "page cache";
    r.note +=
        "; this nats-server rejects sync_interval (unknown field before 2.10), so it runs "
        "with its default: writes reach the page cache, fsync every 2 min";
  }
#endif
  return r;
}

}  // namespace rill::bench
