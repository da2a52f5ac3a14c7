// FaultInjectingFileSystem: a FileSystem for tests that wraps another one and
// makes chosen calls fail, or simulates a power loss.
//
// Failures: fail_call(op, n, fault) makes the n-th call of `op` (counted from
// this call; Op::any counts every call) fail once with EIO or ENOSPC, or, for
// a write, write the first half of the bytes and then fail (a short write).
// A failed sync leaves the file's durable content unchanged.
//
// Power loss: the wrapper remembers, per file, the bytes as of its last
// successful sync (a shadow copy in memory; files are small in tests; a
// sync through a mapping counts for its range only, one without a mapping
// for the whole file, as msync and fdatasync do), and
// whether the directory holding it was synced since it was created or
// renamed into place. power_loss() then rewrites every such file on the real
// disk: each block of `block_bytes` whose content differs from the synced
// copy is dropped (reverted), kept, or garbled from its first changed byte to
// its end (random bytes; the synced bytes before them stay). Growth that
// wrote nothing (allocate, truncate up) is not a change of content: those
// bytes stay zero, and the size reverts with the drop fate only. A file
// whose directory was never synced disappears; a name removed by unlink or
// rename since its directory's last sync comes back, holding its synced
// bytes. Files that existed before the wrapper first saw them count as synced.
// Call power_loss() with no file open or mapped (close the log first), then
// reopen through the same wrapper or the real file system.
//
// Power cut: cut_power_after(n) makes the n-th call from now, and every
// call after it, fail with EIO without reaching the disk, as if the machine
// had stopped there; power_loss() then applies the loss and restores
// service. calls() counts every call but close and unmap (an I/O-error sweep
// counts a workload's calls with it, then fails each one in turn).
//
// Not thread-safe: one test thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "log/file_system.hpp"

namespace rill::log {

class FaultInjectingFileSystem final : public FileSystem {
 public:
  enum class Op {
    any, open, file_size, allocate, truncate, map, sync, write, rename, unlink,
    create_directories, sync_directory, read_file, list_directory, exists,
  };
  enum class Fault { eio, enospc, short_write };

  // What happens at a power loss to bytes written since the last sync.
  enum class Unsynced {
    drop,     // they never reached the disk
    keep,     // they did
    garbage,  // their blocks hold random bytes from the first changed byte on
    mixed,    // each block independently one of the three
  };
  struct PowerLoss {
    Unsynced unsynced = Unsynced::drop;
    std::size_t block_bytes = 4096;  // 512 (a sector) or 4096 (a page)
    std::uint64_t seed = 1;          // for garbage and mixed
  };

  explicit FaultInjectingFileSystem(FileSystem& inner) noexcept : inner_(inner) {}
  // Not copyable: `FaultInjectingFileSystem outer(inner_faults)` must wrap
  // inner_faults, never copy its state.
  FaultInjectingFileSystem(const FaultInjectingFileSystem&) = delete;
  FaultInjectingFileSystem& operator=(const FaultInjectingFileSystem&) = delete;

  // Arms one failure: the n-th call (n >= 1) of `op` from now fails with `fault`.
  // A call fails once; another failure due on the same call fires on the next.
  void fail_call(Op op, std::uint64_t n, Fault fault);
  // Forgets armed failures that have not fired.
  void clear_faults() noexcept { faults_.clear(); }
  // Failures fired so far.
  [[nodiscard]] std::uint64_t faults_fired() const noexcept { return fired_; }

  // What a simulated power loss keeps is decided by the shadow copies alone,
  // so a test that never loses power for real may skip the real fdatasync
  // and directory fsync, which only cost time (they still count as calls,
  // and armed faults still fire on them).
  void skip_real_syncs(bool skip) noexcept { skip_real_syncs_ = skip; }
  // Calls made so far (every operation but close and unmap).
  [[nodiscard]] std::uint64_t calls() const noexcept { return calls_; }
  // The n-th call (n >= 1) from now and every later one fail until power_loss().
  void cut_power_after(std::uint64_t n);
  // True once a cut made a call fail.
  [[nodiscard]] bool power_is_cut() const noexcept { return cut_at_ != 0 && calls_ >= cut_at_; }

  void power_loss(const PowerLoss& how);

  [[nodiscard]] File open(const std::string& path, OpenMode mode) override;
  void close(File& file) noexcept override;
  [[nodiscard]] std::uint64_t file_size(const File& file) override;
  void allocate(const File& file, std::uint64_t size) override;
  void truncate(const File& file, std::uint64_t size) override;
  [[nodiscard]] std::byte* map(const File& file, std::size_t size) override;
  void unmap(std::byte* mapping, std::size_t size) noexcept override;
  void sync(const File& file, std::byte* mapping, std::size_t offset, std::size_t length) override;
  void write(const File& file, std::uint64_t offset, std::span<const std::byte> bytes) override;
  void rename(const std::string& from, const std::string& to) override;
  void unlink(const std::string& path) override;
  void create_directories(const std::string& path) override;
  void sync_directory(const std::string& path) override;
  [[nodiscard]] std::vector<std::byte> read_file(const std::string& path) override;
  [[nodiscard]] std::vector<std::string> list_directory(const std::string& path) override;
  [[nodiscard]] bool exists(const std::string& path) override;
  // The real boot id followed by the number of simulated power losses, so
  // recovery sees each power_loss() as a restart of the machine.
  [[nodiscard]] std::string boot_id() override;

 private:
  struct ArmedFault {
    Op op;
    std::uint64_t calls_left;
    Fault fault;
  };
  struct Durable {
    std::vector<std::byte> synced;  // the content as of the last successful sync
    bool directory_synced = false;  // the file's name is durable
  };

  // Counts a call of `op`; returns the fault to inject now, if any.
  [[nodiscard]] const ArmedFault* next_fault(Op op);
  // Throws the io Error of an injected fault when one is due.
  void maybe_fail(Op op, const std::string& path);
  // Starts tracking an existing file as durable, if not tracked yet.
  void track_existing(const std::string& path);
  void apply_power_loss(const std::string& path, Durable& durable, const PowerLoss& how,
                        std::uint64_t& random_state);
  // Remembers a durable name that unlink or rename is taking away; true
  // when it was noted now (the caller forgets it again if the call fails).
  [[nodiscard]] bool note_removed(const std::string& path);
  // Brings back the removed names whose directory was not synced since.
  void restore_removed();

  FileSystem& inner_;
  std::vector<ArmedFault> faults_;
  ArmedFault fired_fault_{};
  std::uint64_t fired_ = 0;
  std::map<std::string, Durable> files_;
  // Durable names removed since their directory's last sync: their synced bytes.
  std::map<std::string, std::vector<std::byte>> removed_;
  std::uint64_t calls_ = 0;
  std::uint64_t cut_at_ = 0;  // 0: no power cut armed
  std::uint64_t power_losses_ = 0;  // power_loss() calls so far (part of boot_id)
  bool skip_real_syncs_ = false;
};

}  // namespace rill::log
