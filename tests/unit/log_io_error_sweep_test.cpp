// The I/O-error sweep: a fixed partition-log workload (appends that roll
// segments, syncs, retention, a reopen) is run once to count its
// file-system calls N; then, for every k in 1..N, it runs again with the
// k-th call failing (EIO, ENOSPC), and with each write cut short and each
// sync failing once. Every run must end in a rill::Error reaching the caller
// (never a crash: the suite runs under ASan/UBSan), acknowledge nothing
// durable after a failed sync (the log refuses appends until reopened), and
// leave files that a healthy reopen recovers to a prefix of what was
// appended, holding every acknowledged record, and, after a power loss,
// every record reported durable.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "log_test_util.hpp"

#include "support/fault_injecting_file_system.hpp"
#include "log/segment_log.hpp"
#include "rill/error.hpp"

namespace {

using namespace rill::log;
using rill::FsyncPolicy;
using rill::Error;
using rill::ErrorCode;
using Fault = FaultInjectingFileSystem::Fault;
using Op = FaultInjectingFileSystem::Op;

SegmentLogOptions sweep_options(FsyncPolicy policy) {
  SegmentLogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = 256;
  o.fsync_policy = policy;
  o.retention_bytes = 8192;
  return o;
}

// What the workload was told: the value appended at each offset, and how
// far appends were acknowledged and reported durable.
struct Ledger {
  std::vector<std::string> values;  // index: offset
  std::int64_t acknowledged_end = 0;
  std::int64_t durable_end = 0;
  bool saw_error = false;
  bool saw_failed_sync = false;
  // Derived files (indexes, producer-state snapshots) may absorb a fault:
  // the log reports it through its hook and rebuilds them at the next open.
  bool fault_reported_by_hook = false;
};

class SweepRun {
 public:
  SweepRun(FileSystem& fs, std::string dir, FsyncPolicy policy)
      : fs_(fs), dir_(std::move(dir)), options_(sweep_options(policy)) {}

  // Runs the workload until it ends or the first error; checks what the
  // log does after that error.
  Ledger run() {
    try {
      workload();
    } catch (const Error& e) {
      ledger_.saw_error = true;
      CHECK(e.code() == ErrorCode::io);
      after_error();
    }
    log_.reset();
    return ledger_;
  }

 private:
  void workload() {
    log_ = SegmentLog::open(dir_, options_, fs_, hook());
    for (int i = 0; i < 24; ++i) step(i);
    log_.reset();
    log_ = SegmentLog::open(dir_, options_, fs_, hook());
    for (int i = 24; i < 30; ++i) step(i);
    sync();
  }

  LogHook hook() {
    return [this](const std::string& line) {
      if (line.find("(injected fault)") != std::string::npos) ledger_.fault_reported_by_hook = true;
    };
  }

  void step(int i) {
    append(1 + i % 5, "b" + std::to_string(i));
    if (i % 4 == 3) sync();
    if (i % 6 == 5) (void)log_->enforce_retention(0);
  }

  void append(int records, const std::string& tag) {
    const std::vector<std::byte> batch = rill::test::make_batch(records, 1000, tag + std::string(40, 'x'));
    const std::int64_t base = log_->end_offset();
    const Appended result = log_->append(batch, records);
    REQUIRE(result.base_offset == base);
    ledger_.values.resize(static_cast<std::size_t>(base + records));
    for (int r = 0; r < records; ++r) {
      ledger_.values[static_cast<std::size_t>(base + r)] = tag + std::string(40, 'x') + "/" + std::to_string(r);
    }
    ledger_.acknowledged_end = base + records;
    ledger_.durable_end = std::max(ledger_.durable_end, result.durable_end_offset);
  }

  void sync() {
    log_->sync();
    ledger_.durable_end = std::max(ledger_.durable_end, log_->durable_end_offset());
  }

  // After an error: a failed log refuses appends and syncs, and reports no
  // more durable offsets; a log that did not fail may go on.
  void after_error() {
    if (!log_) return;  // the open failed
    const std::int64_t durable_before = log_->durable_end_offset();
    if (log_->failed()) {
      ledger_.saw_failed_sync = true;
      const auto batch = rill::test::make_batch(1, 1000, "after");
      CHECK(rill::test::error_of([&] { (void)log_->append(batch, 1); }) == ErrorCode::io);
      CHECK(rill::test::error_of([&] { log_->sync(); }) == ErrorCode::io);
      CHECK(log_->durable_end_offset() == durable_before);
    }
    CHECK(durable_before <= ledger_.durable_end);
  }

  FileSystem& fs_;
  std::string dir_;
  SegmentLogOptions options_;
  std::unique_ptr<SegmentLog> log_;
  Ledger ledger_;
};

// Reads the whole log back and checks it against the ledger.
void check_recovered(FileSystem& fs, const std::string& dir, FsyncPolicy policy, const Ledger& ledger,
                     std::int64_t must_reach) {
  std::unique_ptr<SegmentLog> log;
  REQUIRE_NOTHROW(log = SegmentLog::open(dir, sweep_options(policy), fs, [](const std::string&) {}));
  CHECK(log->end_offset() >= must_reach);
  REQUIRE(log->end_offset() <= static_cast<std::int64_t>(ledger.values.size()) + 5);  // at most the batch in flight
  for (std::int64_t next = log->start_offset(); next < log->end_offset();) {
    const ReadResult r = log->read(next, 1 << 16);
    REQUIRE(r.status == ReadStatus::ok);
    for (const auto& [offset, value] : rill::test::records_of(r.bytes)) {
      if (offset < next) continue;
      REQUIRE(offset == next);
      // The batch in flight when the error came may be there, whole.
      if (offset < static_cast<std::int64_t>(ledger.values.size())) {
        REQUIRE(value == ledger.values[static_cast<std::size_t>(offset)]);
      }
      ++next;
    }
  }
}

struct Sweep {
  FsyncPolicy policy;
  std::optional<Op> op;  // the operation counted; nullopt: every call
  Fault fault;
};

// Runs the workload with the k-th counted call failing, then checks a
// healthy reopen, and a reopen after a power loss. False once k is past the
// workload's calls (no fault fired).
bool run_with_fault(const Sweep& sweep, std::uint64_t k) {
  rill::test::TempDir dir("rill-io-sweep");
  const std::string partition = dir.file("p");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  fs.skip_real_syncs(true);  // power losses are simulated
  fs.fail_call(sweep.op.value_or(Op::any), k, sweep.fault);
  const Ledger ledger = SweepRun(fs, partition, sweep.policy).run();
  if (fs.faults_fired() == 0) {
    CHECK_FALSE(ledger.saw_error);
    return false;
  }
  INFO("call " << k << " failed; acknowledged " << ledger.acknowledged_end << ", durable " << ledger.durable_end);
  CHECK((ledger.saw_error || ledger.fault_reported_by_hook));
  if (sweep.op == Op::sync && !ledger.fault_reported_by_hook) {
    CHECK((ledger.saw_failed_sync || ledger.acknowledged_end == 0));
  }
  fs.clear_faults();
  // No power loss: every acknowledged record is in the page cache.
  check_recovered(fs, partition, sweep.policy, ledger, ledger.acknowledged_end);
  // A power loss keeps what was reported durable.
  fs.power_loss({FaultInjectingFileSystem::Unsynced::drop, 4096, k});
  check_recovered(fs, partition, sweep.policy, ledger, ledger.durable_end);
  return true;
}

std::uint64_t healthy_calls(FsyncPolicy policy) {
  rill::test::TempDir dir("rill-io-sweep");
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  fs.skip_real_syncs(true);  // power losses are simulated
  const Ledger ledger = SweepRun(fs, dir.file("p"), policy).run();
  const std::uint64_t calls = fs.calls();
  REQUIRE_FALSE(ledger.saw_error);
  REQUIRE(ledger.durable_end == ledger.acknowledged_end);
  check_recovered(fs, dir.file("p"), policy, ledger, ledger.acknowledged_end);
  return calls;
}

}  // namespace

TEST_CASE("io error sweep: failing any one file-system call never loses an acknowledged record", "[log][io]") {
  const FsyncPolicy policy = GENERATE(FsyncPolicy::none, FsyncPolicy::every_batch);
  const Fault fault = GENERATE(Fault::eio, Fault::enospc);
  const std::uint64_t calls = healthy_calls(policy);
  INFO("policy " << static_cast<int>(policy) << ", fault " << static_cast<int>(fault) << ", " << calls << " calls");
  REQUIRE(calls > 50);
  for (std::uint64_t k = 1; k <= calls; ++k) CHECK(run_with_fault({policy, std::nullopt, fault}, k));
  CHECK_FALSE(run_with_fault({policy, std::nullopt, fault}, calls + 1));
}

TEST_CASE("io error sweep: a sync that fails once is never retried into a false durable", "[log][io]") {
  const FsyncPolicy policy = GENERATE(FsyncPolicy::none, FsyncPolicy::interval, FsyncPolicy::every_batch);
  std::uint64_t k = 1;
  while (run_with_fault({policy, Op::sync, Fault::eio}, k)) ++k;
  INFO("policy " << static_cast<int>(policy));
  CHECK(k > 5);
}

TEST_CASE("io error sweep: a short write anywhere surfaces as an error", "[log][io]") {
  // The partition log writes through mappings; write() serves repair copies
  // only, so this sweep also passes when the workload makes no write call.
  std::uint64_t k = 1;
  while (run_with_fault({FsyncPolicy::every_batch, Op::write, Fault::short_write}, k)) ++k;
  SUCCEED("write calls failed in turn: " << k - 1);
}
