// The writer half of the crash loop: runs in a forked child, produces
// numbered records to a durable topic and reports each acknowledged send to
// the parent over a pipe, until the parent kills it.
#pragma once

#include <chrono>
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

// The name of the writers' idempotent producer (--idempotent).
inline constexpr const char* kIdempotenceId = "crash-writer";

// What a writer's topic is and how it numbers its records.
enum class WriteMode {
  plain,       // keys record_key(), partition by key
  compact,     // CleanupPolicy::compact, keys compact_key()
  idempotent,  // an idempotent producer; record g goes to partition g % kPartitions
};

[[nodiscard]] constexpr const char* to_string(WriteMode mode) noexcept {
  switch (mode) {
    case WriteMode::plain: return "plain";
    case WriteMode::compact: return "compact";
    case WriteMode::idempotent: return "idempotent";
  }
  return "unknown";
}

// What a message on the pipe says.
enum class MessageKind : std::uint32_t {
  ack = 0,            // `sequence` was acknowledged at (partition, offset)
  intent = 1,         // `sequence` is about to be sent (idempotent mode)
  next_sequence = 2,  // Producer::next_sequence(partition) returned `offset`
};

// One message of the writer, as written to the pipe. 32 bytes: smaller than
// PIPE_BUF, so each write reaches the parent whole.
struct AckMessage {
  std::int32_t partition = -1;
  MessageKind kind = MessageKind::ack;
  std::int64_t offset = -1;
  std::uint64_t sequence = 0;
  std::int64_t producer_sequence = -1;  // RecordMetadata::sequence of an ack
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
  WriteMode mode = WriteMode::plain;
  // When pace > 0: after its first pace_after records, the writer waits
  // `pace` per record after each window (a steady trickle that keeps
  // rolling segments, so that the log cleaner keeps finding work).
  std::uint64_t pace_after = 0;
  std::chrono::microseconds pace{0};
};

// Runs in the child: never returns. Exits with status 3 (after a line on
// stderr) if the library throws, which the parent reports as a violation.
[[noreturn]] void run_writer(const WriterPlan& plan, int ack_fd) noexcept;

}  // namespace rill::crash
