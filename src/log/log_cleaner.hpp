// LogCleaner: one compaction pass over a SegmentLog (partition_log.hpp),
// Kafka's "cleanup.policy=compact": the closed segments keep only the newest
// record of each key. The byte-level result is in docs/log_format.md
// ("Compacted segments").
//
// Design
// - Key index: every batch of every segment, the active one included (up to
//   its committed position when the pass starts), is walked oldest first
//   and each keyed record's offset is stored under its key, so the map ends
//   holding the newest offset per key. Keys are views into the mapped
//   segments, which the pass holds (shared_ptr) until it ends; the hash map
//   hashes them with XXH3-64 and compares the exact bytes on a hash hit, so
//   a hash collision costs a comparison, never a wrong drop. Memory: one
//   entry per distinct key of the partition. Cost: every pass reads the
//   whole partition once to index it and once more per closed segment to
//   look for something to drop; only those with something are copied (in
//   memory first, then to the file: up to one segment's bytes).
// - Drop rule, closed segments only: a keyed record whose offset is not its
//   key's newest is superseded; a newest record that is a tombstone (null
//   value) goes once its timestamp < now_ms - tombstone_retention. Keyless
//   records and control batches are always kept. Records appended after
//   the pass started can only supersede more: the pass keeps a little too
//   much, never too little.
// - Rewrite: a closed segment with something to drop is copied batch by
//   batch. A batch keeps its header (base offset, last offset delta, first
//   and max timestamp, attributes, producer fields) and the kept records'
//   encoded bytes unchanged, so every kept record keeps its offset,
//   timestamp, key, value and headers; record_count, batch_length and the
//   checksum are rewritten. A batch with no record left is dropped. Batch
//   checksums are verified before anything is copied: damage is never
//   re-sealed under a fresh checksum.
// - Install: the copy is written as "<base>.log.cleaned" (+ ".index.cleaned",
//   ".timeindex.cleaned"), sized to its contents, synced; the "compacted"
//   marker is made durable (once); then the three files are renamed over
//   the old ones (the log first: stale indexes are checked and rebuilt at
//   open, never trusted) and the directory is synced. A crash leaves the
//   old or the new log under the name; ".cleaned" leftovers are deleted at
//   open (recover_folder). The new segment is opened and swapped into the
//   list under the caller's writer mutex and the segments mutex: a pointer
//   swap, no I/O. Readers holding the old Segment keep its mapping (the
//   renamed-over inode lives until they let go).
// - Empty: a segment with nothing left is deleted (indexes, then log, then
//   a directory sync) and taken out of the list, except the first segment,
//   which stays (as an empty file) so that start_offset never moves through
//   compaction; reads in the gap go on to the next segment.
// - Coordination: the pass holds the log's cleaner mutex from start to end;
//   retention try-locks it and skips its turn instead of waiting, so it
//   never deletes a segment being cleaned and producers never wait for a
//   pass. Rolls are not affected: they only append to the list.
// - Thread roles: any one thread runs a pass (SegmentLog::compact
//   serializes passes); the writer keeps appending meanwhile.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/batch_reader.hpp"
#include "log/segment_log.hpp"

namespace rill::log {

class LogCleaner {
 public:
  LogCleaner(SegmentLog& log, const CompactionOptions& options, std::mutex& writer_mutex);

  // The pass; the caller holds the log's cleaner mutex. Throws Error(io),
  // Error(corrupt) (a closed segment failed its checks; nothing replaced).
  [[nodiscard]] CompactionResult run();

  // Recovery, before the log has segments: deletes "*.cleaned" files left
  // by an interrupted pass (one hook line each) and returns whether the
  // folder holds the compacted marker (offsets may skip).
  [[nodiscard]] static bool recover_folder(FileSystem& fs, const std::string& dir,
                                           const LogHook& hook);

 private:
  struct KeyHash {
    [[nodiscard]] std::size_t operator()(std::string_view key) const noexcept;
  };
  using Segments = std::vector<std::shared_ptr<Segment>>;

  // All committed batches of `segment`; verifies checksums when `closed`.
  [[nodiscard]] std::span<const std::byte> batches_of(const Segment& segment, bool closed) const;
  [[nodiscard]] bool index_keys(const Segment& segment, bool closed);
  [[nodiscard]] bool keep(const codec::DecodedRecord& record) const noexcept;
  [[nodiscard]] bool has_something_to_drop(const Segment& segment) const;
  // Appends the kept part of every batch of `segment` to `out` (8-byte
  // aligned, zero padded); returns the records dropped.
  [[nodiscard]] std::uint64_t filter_segment(const Segment& segment, std::vector<std::byte>& out);
  [[nodiscard]] std::uint64_t filter_batch(const codec::BatchView& batch, std::vector<std::byte>& out) const;
  void replace(const std::shared_ptr<Segment>& old, std::span<const std::byte> kept);
  [[nodiscard]] std::shared_ptr<Segment> write_copy(std::int64_t base, std::span<const std::byte> kept);
  void remove(const std::shared_ptr<Segment>& old);
  void mark_compacted();
  void swap_in_list(const std::shared_ptr<Segment>& old, std::shared_ptr<Segment> fresh);
  [[nodiscard]] bool stop_requested() const noexcept;

  SegmentLog& log_;
  CompactionOptions options_;
  std::mutex& writer_mutex_;
  std::int64_t tombstone_deadline_;  // tombstones with a timestamp below this go
  std::unordered_map<std::string_view, std::int64_t, KeyHash> newest_;
};

}  // namespace rill::log
