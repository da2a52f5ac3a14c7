// The frame every benchmark file plugs into.
//
// A Case names one measured subject (e.g. "ring.spsc.8B") and lists the
// Systems that do the same work: rill and its peers. main.cpp runs the
// systems of a case interleaved, round after round, in one process, and
// reports the median of each figure over the rounds. A System's run function
// moves `messages` messages (scaled by its message_scale), times only the
// transfer, checks what it received, and returns a RunResult.
//
// Timing: steady_clock around the transfer; threads are created and parked
// on a start flag before the clock starts, and joined before it stops.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace rill::bench {

// A named figure of one run, e.g. {"seconds", 0.021}.
struct Figure {
  std::string name;
  double value = 0;
};

// What one run of one system measured.
struct RunResult {
  std::uint64_t messages = 0;  // messages delivered to (every) consumer
  std::uint64_t bytes = 0;     // payload bytes delivered (messages x size)
  double seconds = 0;          // wall time of the transfer
  // Per-message latencies in ns, only for latency cases; empty otherwise.
  std::vector<std::uint64_t> latencies_ns;
  // Non-empty when the consumer saw a wrong, missing or reordered message;
  // the run's figures are then reported as failed, never as a result.
  std::string error;
  // Extra line printed under the case (e.g. memory use); last round wins.
  std::string note;
  // Named figures besides the rate (e.g. recovery seconds, bytes per
  // record); each is reported as its median over the rounds.
  std::vector<Figure> figures;
  // Non-empty when the system cannot run on this machine (a peer server not
  // installed): the row says so; this is not a failure.
  std::string skipped;
  // Replaces the system's durability label when the run found out it gives
  // less (a server that refused the requested sync setting).
  std::string durability;
};

struct RunConfig {
  std::uint64_t messages = 0;  // already scaled for the system
};

using RunFn = std::function<RunResult(const RunConfig&)>;

struct System {
  std::string name;
  RunFn run;
  // Slow peers move fewer messages so a round stays short; rates are
  // comparable because every figure is per second.
  double message_scale = 1.0;
  // What survives once the system has accepted a record ("page cache",
  // "fsync per batch"); empty where durability does not apply.
  std::string durability{};
  // False for systems that report only figures (no msgs/s or MB/s).
  bool measures_rate = true;
};

struct Case {
  std::string name;
  std::uint64_t messages_full = 0;
  std::uint64_t messages_quick = 0;
  std::vector<System> systems;
};

// Each benchmark file adds its cases.
void add_ring_spsc_cases(std::vector<Case>& cases);
void add_ring_rtt_cases(std::vector<Case>& cases);
void add_ring_mp_cases(std::vector<Case>& cases);
void add_ring_broadcast_cases(std::vector<Case>& cases);
void add_ring_frames_cases(std::vector<Case>& cases);
void add_topic_cases(std::vector<Case>& cases);
void add_log_cases(std::vector<Case>& cases);

// Pins the calling thread to one core; silently does nothing if the core
// does not exist or the call is refused (containers, cgroups).
void pin_current_thread(int core) noexcept;

// Resident set size of this process in bytes (from /proc/self/statm).
[[nodiscard]] std::uint64_t resident_bytes() noexcept;

// Hint to the CPU that we are spinning.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Keeps the compiler from deleting work whose result is otherwise unused.
template <class T>
inline void keep(const T& value) noexcept {
  asm volatile("" : : "g"(&value) : "memory");
}

using Clock = std::chrono::steady_clock;

[[nodiscard]] inline double seconds_since(Clock::time_point start) noexcept {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Starts one thread per body, parks them on a start flag, then releases
// them together and returns the wall time until the last one finishes.
// With pin set, body i runs on core i (only sensible for 2 threads on 2
// cores). Bodies take their index.
[[nodiscard]] double run_threads(const std::vector<std::function<void(int)>>& bodies, bool pin);

// The result of a throughput run of `messages` messages of `size` bytes.
[[nodiscard]] inline RunResult throughput(std::uint64_t messages, std::size_t size,
                                          double seconds) {
  RunResult r;
  r.messages = messages;
  r.bytes = messages * size;
  r.seconds = seconds;
  return r;
}

}  // namespace rill::bench
