// FileSystem: the POSIX implementation on real files, and the fault and
// power-loss injection that the log's crash tests rely on.
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

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

// A fresh directory per test, removed afterwards.
struct TempDir : rill::test::TempDir {
  TempDir() : rill::test::TempDir("rill-log-fs", true) {}
};

// Creates `name` holding `content`, synced, with its directory synced.
void write_synced(FileSystem& fs, const TempDir& dir, const std::string& name,
                  const std::string& content) {
  File f = fs.open(dir.file(name), OpenMode::create_new);
  fs.write(f, 0, bytes_of(content));
  fs.sync(f, nullptr, 0, 0);
  fs.close(f);
  fs.sync_directory(dir.path());
}

void overwrite(FileSystem& fs, const std::string& path, std::size_t at, const std::string& s) {
  File f = fs.open(path, OpenMode::existing);
  fs.write(f, at, bytes_of(s));
  fs.close(f);
}

}  // namespace

TEST_CASE("posix file system: a mapped write is read back, renamed, listed and unlinked", "[log]") {
  TempDir dir;
  PosixFileSystem fs;
  File f = fs.open(dir.file("a.log"), OpenMode::create_new);
  fs.allocate(f, 8192);
  CHECK(fs.file_size(f) == 8192);
  std::byte* map = fs.map(f, 8192);
  std::memcpy(map + 4096, "hello", 5);
  fs.sync(f, map, 4096, 5);
  fs.unmap(map, 8192);
  fs.close(f);

  const auto content = fs.read_file(dir.file("a.log"));
  REQUIRE(content.size() == 8192);
  CHECK(text_of({content.begin() + 4096, content.begin() + 4101}) == "hello");
  CHECK(content[0] == std::byte{0});

  fs.rename(dir.file("a.log"), dir.file("b.log"));
  fs.sync_directory(dir.path());
  CHECK(fs.list_directory(dir.path()) == std::vector<std::string>{"b.log"});
  CHECK_FALSE(fs.exists(dir.file("a.log")));
  fs.unlink(dir.file("b.log"));
  CHECK(fs.list_directory(dir.path()).empty());
}

TEST_CASE("posix file system: an error names the operation, the path and the reason", "[log]") {
  TempDir dir;
  PosixFileSystem fs;
  const std::string missing = dir.file("missing.log");
  try {
    (void)fs.open(missing, OpenMode::existing);
    FAIL("open of a missing file succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::io);
    const std::string message = e.what();
    CHECK(message.find("open") != std::string::npos);
    CHECK(message.find(missing) != std::string::npos);
    CHECK(message.find(std::strerror(ENOENT)) != std::string::npos);
  }
  write_synced(fs, dir, "x", "1");
  CHECK_THROWS_AS(fs.open(dir.file("x"), OpenMode::create_new), Error);
}

TEST_CASE("fault injection: the n-th call of an operation fails once, with its errno", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  File f = fs.open(dir.file("f"), OpenMode::create_new);
  fs.fail_call(Op::allocate, 2, Fault::enospc);
  fs.allocate(f, 4096);  // the first allocate passes
  try {
    fs.allocate(f, 8192);
    FAIL("the armed allocate did not fail");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::io);
    CHECK(std::string(e.what()).find(std::strerror(ENOSPC)) != std::string::npos);
    CHECK(std::string(e.what()).find(dir.file("f")) != std::string::npos);
  }
  CHECK(fs.file_size(f) == 4096);
  fs.allocate(f, 8192);  // fired once only
  CHECK(fs.faults_fired() == 1);

  fs.fail_call(Op::any, 2, Fault::eio);
  CHECK(fs.file_size(f) == 8192);
  CHECK_THROWS_WITH(fs.sync(f, nullptr, 0, 0), Catch::Contains(std::strerror(EIO)));
  fs.close(f);
}

TEST_CASE("fault injection: a short write writes half the bytes and then fails", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  File f = fs.open(dir.file("f"), OpenMode::create_new);
  fs.fail_call(Op::write, 1, Fault::short_write);
  CHECK_THROWS_WITH(fs.write(f, 0, bytes_of("abcdefgh")), Catch::Contains("short write"));
  fs.close(f);
  CHECK(text_of(posix.read_file(dir.file("f"))) == "abcd");
}

TEST_CASE("power loss: unsynced bytes are dropped, kept or garbage per block", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  const std::string synced(2048, 's');
  write_synced(fs, dir, "f", synced);
  // Change one byte in the second 512-byte block, without a sync.
  overwrite(fs, dir.file("f"), 600, "X");

  SECTION("dropped") {
    fs.power_loss({Unsynced::drop, 512, 7});
    CHECK(text_of(posix.read_file(dir.file("f"))) == synced);
  }
  SECTION("kept") {
    fs.power_loss({Unsynced::keep, 512, 7});
    std::string expected = synced;
    expected[600] = 'X';
    CHECK(text_of(posix.read_file(dir.file("f"))) == expected);
  }
  SECTION("garbage fills the changed block from the first changed byte") {
    fs.power_loss({Unsynced::garbage, 512, 7});
    const std::string after = text_of(posix.read_file(dir.file("f")));
    REQUIRE(after.size() == synced.size());
    CHECK(after.substr(0, 600) == synced.substr(0, 600));
    CHECK(after.substr(1024) == synced.substr(1024));
    CHECK(after.substr(600, 424) != synced.substr(600, 424));
  }
}

TEST_CASE("power loss: a failed sync does not make bytes durable", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  write_synced(fs, dir, "f", "old!");
  File f = fs.open(dir.file("f"), OpenMode::existing);
  fs.write(f, 0, bytes_of("new!"));
  fs.fail_call(Op::sync, 1, Fault::eio);
  CHECK_THROWS_AS(fs.sync(f, nullptr, 0, 0), Error);
  fs.close(f);
  fs.power_loss({Unsynced::drop, 4096, 1});
  CHECK(text_of(posix.read_file(dir.file("f"))) == "old!");
}

TEST_CASE("power loss: a file whose directory was never synced disappears", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  File f = fs.open(dir.file("new"), OpenMode::create_new);
  fs.write(f, 0, bytes_of("data"));
  fs.sync(f, nullptr, 0, 0);  // the data, but not the name
  fs.close(f);
  write_synced(fs, dir, "named", "kept");  // syncs the directory: both names durable now
  File g = fs.open(dir.file("late"), OpenMode::create_new);
  fs.sync(g, nullptr, 0, 0);
  fs.close(g);

  fs.power_loss({Unsynced::drop, 4096, 1});
  CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"named", "new"});
  CHECK(text_of(posix.read_file(dir.file("new"))) == "data");
}

TEST_CASE("power loss: files that existed before the wrapper count as durable", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  write_synced(posix, dir, "old", "before");
  FaultInjectingFileSystem fs(posix);
  overwrite(fs, dir.file("old"), 0, "BEFORE");
  fs.power_loss({Unsynced::drop, 512, 1});
  CHECK(text_of(posix.read_file(dir.file("old"))) == "before");
}

TEST_CASE("power loss: an unlink or rename without a directory sync is undone", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  write_synced(fs, dir, "gone", "was here");
  write_synced(fs, dir, "old", "old name");
  write_synced(fs, dir, "target", "replaced");
  fs.unlink(dir.file("gone"));
  fs.rename(dir.file("old"), dir.file("target"));
  CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"target"});

  SECTION("no directory sync: every name comes back with its synced bytes") {
    fs.power_loss({Unsynced::drop, 4096, 1});
    CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"gone", "old", "target"});
    CHECK(text_of(posix.read_file(dir.file("gone"))) == "was here");
    CHECK(text_of(posix.read_file(dir.file("old"))) == "old name");
    CHECK(text_of(posix.read_file(dir.file("target"))) == "replaced");
  }
  SECTION("after a directory sync the unlink and the rename hold") {
    fs.sync_directory(dir.path());
    fs.power_loss({Unsynced::drop, 4096, 1});
    CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"target"});
    CHECK(text_of(posix.read_file(dir.file("target"))) == "old name");
  }
}

TEST_CASE("power loss: growth that wrote nothing stays zero, even as garbage", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  write_synced(fs, dir, "f", "synced");
  File f = fs.open(dir.file("f"), OpenMode::existing);
  fs.allocate(f, 8192);
  fs.write(f, 6, bytes_of("tail"));
  fs.close(f);
  fs.power_loss({Unsynced::garbage, 512, 3});
  const std::string after = text_of(posix.read_file(dir.file("f")));
  REQUIRE(after.size() == 8192);
  CHECK(after.substr(0, 6) == "synced");
  CHECK(after.substr(6, 4) != "tail");                    // the written block is garbled...
  CHECK(after.substr(512) == std::string(8192 - 512, '\0'));  // ...the allocated blocks are not
}

TEST_CASE("power cut: from the chosen call on nothing reaches the disk until the power loss", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  write_synced(fs, dir, "f", "before");
  const std::uint64_t before = fs.calls();
  fs.cut_power_after(2);
  CHECK_FALSE(fs.power_is_cut());
  CHECK(fs.exists(dir.file("f")));  // call 1 passes
  CHECK_THROWS_WITH(fs.unlink(dir.file("f")), Catch::Contains(std::strerror(EIO)));
  CHECK(fs.power_is_cut());
  CHECK_THROWS_AS(fs.open(dir.file("new"), OpenMode::create_new), Error);
  CHECK(fs.calls() == before + 3);
  CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"f"});
  fs.power_loss({Unsynced::drop, 4096, 1});
  CHECK_FALSE(fs.power_is_cut());
  File g = fs.open(dir.file("new"), OpenMode::create_new);  // service is back
  fs.close(g);
}

TEST_CASE("fault injection: skipping real syncs keeps the simulated durability", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  fs.skip_real_syncs(true);
  write_synced(fs, dir, "f", "durable");
  overwrite(fs, dir.file("f"), 0, "DURABLE");
  fs.fail_call(Op::sync, 1, Fault::eio);  // faults still fire on skipped syncs
  File f = fs.open(dir.file("f"), OpenMode::existing);
  CHECK_THROWS_AS(fs.sync(f, nullptr, 0, 0), Error);
  fs.close(f);
  fs.power_loss({Unsynced::drop, 512, 1});
  CHECK(text_of(posix.read_file(dir.file("f"))) == "durable");
}

TEST_CASE("power loss: a sync through a mapping makes only its range durable", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  File f = fs.open(dir.file("f"), OpenMode::create_new);
  fs.allocate(f, 8192);
  fs.sync(f, nullptr, 0, 0);
  fs.sync_directory(dir.path());
  std::byte* mapping = fs.map(f, 8192);
  mapping[0] = std::byte{'a'};
  mapping[5000] = std::byte{'b'};
  fs.sync(f, mapping, 0, 1);
  fs.unmap(mapping, 8192);
  fs.close(f);
  fs.power_loss({Unsynced::drop, 512, 1});
  const std::vector<std::byte> after = posix.read_file(dir.file("f"));
  REQUIRE(after.size() == 8192);
  CHECK(after[0] == std::byte{'a'});
  CHECK(after[5000] == std::byte{0});
}
