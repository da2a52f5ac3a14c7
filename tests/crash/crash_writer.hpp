// The writer half of the crash loop: runs in a forked child, produces
// numbered records to a durable topic and reports each acknowledged send to
// the parent over a pipe, until the parent kills it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "rill/options.hpp"

namespace rill::crash {

inline constexpr const char* kTopic = "crash";
inline constexpr std::int32_t kPartitions = 3;
inline constexpr std::size_t kSegmentBytes = 64 * 1024;
// With --points the topic's size limit: any closed segment is over it, so
// each retention run (at every open, then every segment's worth of appends)
// deletes every closed segment, and the crash point in retention is reached.
inline constexpr std::uint64_t kRetentionBytes = 1;

// One acknowledged send, as written to the pipe. 24 bytes: smaller than
// PIPE_BUF, so each write reaches the parent whole.
struct AckMessage {
  std::int32_t partition = -1;
  std::uint32_t reserved = 0;
  std::int64_t offset = -1;
  std::uint64_t sequence = 0;
};

// What one writer child does.
struct WriterPlan {
  std::filesystem::path dir;
  FsyncPolicy policy = FsyncPolicy::none;
  std::uint32_t cycle = 0;
  std::uint64_t first_sequence = 0;
  std::uint64_t records = 0;  // sends before it idles, waiting to be killed
  // 1: linger 0, one send at a time. > 1: linger > 0 and up to this many
  // sends outstanding before their futures are read (multi-record batches).
  std::uint32_t window = 1;
  // "<name>:<count>": the crash point (src/log/crash_point.hpp) where the
  // writer kills itself on the count-th pass; empty: none.
  std::string crash_point;
  bool retention = false;  // create the topic with kRetentionBytes
};

// Runs in the child: never returns. Exits with status 3 (after a line on
// stderr) if the library throws, which the parent reports as a violation.
[[noreturn]] void run_writer(const WriterPlan& plan, int ack_fd) noexcept;

}  // namespace rill::crash
