// Thread start/stop, pinning and memory probes shared by every benchmark.
#include "harness.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>

namespace rill::bench {

void pin_current_thread(int core) noexcept {
  if (core < 0 || core >= CPU_SETSIZE) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  // A refusal (fewer cores, a cgroup cpuset) only costs accuracy.
  static_cast<void>(pthread_setaffinity_np(pthread_self(), sizeof(set), &set));
}

std::uint64_t resident_bytes() noexcept {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int got = std::fscanf(f, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(f);
  if (got != 2) return 0;
  return resident_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

double run_threads(const std::vector<std::function<void(int)>>& bodies, bool pin) {
  std::atomic<bool> go{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  threads.reserve(bodies.size());
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    threads.emplace_back([&, i] {
      const int index = static_cast<int>(i);
      if (pin) pin_current_thread(index);
      // Relaxed/acquire pairing: the release store of `go` below publishes
      // nothing but the start signal; everything else was set up before
      // the threads were created.
      ready.fetch_add(1, std::memory_order_relaxed);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      bodies[i](index);
    });
  }
  while (ready.load(std::memory_order_relaxed) != static_cast<int>(bodies.size())) {
    std::this_thread::yield();
  }
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  return seconds_since(start);
}

}  // namespace rill::bench
