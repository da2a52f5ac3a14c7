// A simulated power loss at its edges: one that meets an error of the file
// system it wraps (the error reaches the caller, and a second power loss
// finishes the job, leaving what one clean power loss leaves), a file removed
// behind the wrapper's back, and a directory synced under a name ending in '/'.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

#include "log_test_util.hpp"

#include "support/fault_injecting_file_system.hpp"
#include "log/file_system.hpp"
#include "rill/error.hpp"

namespace {

using rill::Error;
using rill::ErrorCode;
using namespace rill::log;
using Fault = FaultInjectingFileSystem::Fault;
using Op = FaultInjectingFileSystem::Op;
using Unsynced = FaultInjectingFileSystem::Unsynced;
using rill::test::bytes_of;
using rill::test::text_of;

struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-power-loss-errors", true) {}
};

void write_file(FileSystem& fs, const std::string& path, const std::string& content) {
  File f = fs.open(path, OpenMode::create_or_open);
  fs.truncate(f, 0);
  fs.write(f, 0, bytes_of(content));
  fs.close(f);
}

// "kept": synced, then overwritten without a sync. "gone": synced and named
// durably, then unlinked without a directory sync. "new": never named durably.
void prepare(FileSystem& fs, const std::string& dir) {
  for (const char* name : {"kept", "gone"}) {
    File f = fs.open(join_path(dir, name), OpenMode::create_new);
    fs.write(f, 0, bytes_of(std::string(name) + " synced"));
    fs.sync(f, nullptr, 0, 0);
    fs.close(f);
  }
  fs.sync_directory(dir);
  File kept = fs.open(join_path(dir, "kept"), OpenMode::existing);
  fs.write(kept, 0, bytes_of("KEPT UNSYNCED"));
  fs.close(kept);
  fs.unlink(join_path(dir, "gone"));
  File fresh = fs.open(join_path(dir, "new"), OpenMode::create_new);
  fs.write(fresh, 0, bytes_of("new"));
  fs.close(fresh);
}

}  // namespace

TEST_CASE("power loss: an error of the wrapped file system reaches the caller, and a retry completes it",
          "[log][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem inner(posix);
  FaultInjectingFileSystem fs(static_cast<FileSystem&>(inner));  // wraps `inner`, not a copy of it
  prepare(fs, dir.path());
  REQUIRE(posix.list_directory(dir.path()) == std::vector<std::string>{"kept", "new"});

  // The loss looks at "kept" (exists, read, open, truncate, write, read),
  // then "new" (exists, unlink), then brings "gone" back (open, truncate, write).
  const auto [op, n] = GENERATE(std::pair{Op::exists, 1}, std::pair{Op::read_file, 1}, std::pair{Op::open, 1},
                                std::pair{Op::truncate, 1}, std::pair{Op::write, 1}, std::pair{Op::read_file, 2},
                                std::pair{Op::exists, 2}, std::pair{Op::unlink, 1}, std::pair{Op::open, 2},
                                std::pair{Op::truncate, 2}, std::pair{Op::write, 2});
  CAPTURE(static_cast<int>(op), n);
  inner.fail_call(op, n, Fault::eio);
  try {
    fs.power_loss({Unsynced::drop, 512, 1});
    FAIL("the power loss met no error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::io);
    CHECK_THAT(e.what(), Catch::Contains("injected fault"));
  }
  CHECK(inner.faults_fired() == 1);
  fs.power_loss({Unsynced::drop, 512, 1});
  CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"gone", "kept"});
  CHECK(text_of(posix.read_file(dir.file("kept"))) == "kept synced");
  CHECK(text_of(posix.read_file(dir.file("gone"))) == "gone synced");
}

TEST_CASE("power loss: a file removed behind the wrapper's back stays removed", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  write_file(fs, dir.file("a"), "A");
  write_file(fs, dir.file("b"), "B");
  File a = fs.open(dir.file("a"), OpenMode::existing);
  fs.sync(a, nullptr, 0, 0);
  fs.close(a);
  fs.sync_directory(dir.path());
  posix.unlink(dir.file("a"));  // not through the wrapper: it never learns of it
  fs.power_loss({Unsynced::drop, 512, 1});
  CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"b"});
  CHECK(posix.read_file(dir.file("b")).empty());  // never synced: dropped to its synced size
}

TEST_CASE("power loss: a directory synced under a name with trailing slashes counts", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  File f = fs.open(dir.file("f"), OpenMode::create_new);
  fs.write(f, 0, bytes_of("named"));
  fs.sync(f, nullptr, 0, 0);
  fs.close(f);
  fs.sync_directory(dir.path() + "//");
  fs.power_loss({Unsynced::drop, 512, 1});
  CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"f"});
  CHECK(text_of(posix.read_file(dir.file("f"))) == "named");
}
