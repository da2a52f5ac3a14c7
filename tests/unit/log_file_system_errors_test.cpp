// FileSystem failures: every POSIX call of PosixFileSystem reporting a real
// failure (a bad length, a missing file, a file where a directory should be),
// replace_file keeping the old file when a step fails, join_path and parent_path, and
// the fault-injecting wrapper failing each operation by name, passing the
// wrapped file system's own errors through, seed 0 and an empty mapped sync.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
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
  TempDir() : rill::test::TempDir("rill-log-fs-errors", true) {}
};

// The message of the io Error that `call` throws; fails the test otherwise.
std::string io_error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::io);
    return e.what();
  }
  FAIL("expected an io error");
  return {};
}

// Checks that `message` names the operation, the path and the errno text.
void check_names(const std::string& message, const std::string& operation, const std::string& path,
                 int error) {
  INFO(message);
  CHECK(message.find(operation + " \"") != std::string::npos);
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find(std::strerror(error)) != std::string::npos);
}

void write_file(FileSystem& fs, const std::string& path, const std::string& content) {
  File f = fs.open(path, OpenMode::create_or_open);
  fs.truncate(f, 0);
  fs.write(f, 0, bytes_of(content));
  fs.close(f);
}

}  // namespace

TEST_CASE("posix file system: sizes past off_t and an empty mapping fail with EINVAL", "[log][io]") {
  TempDir dir;
  PosixFileSystem fs;
  const std::string path = dir.file("f.log");
  File f = fs.open(path, OpenMode::create_new);
  // Sizes past off_t's range turn negative, which the kernel refuses.
  constexpr std::uint64_t kHuge = std::uint64_t{1} << 63;
  check_names(io_error_of([&] { fs.allocate(f, kHuge); }), "allocate", path, EINVAL);
  check_names(io_error_of([&] { fs.truncate(f, kHuge); }), "truncate", path, EINVAL);
  check_names(io_error_of([&] { (void)fs.map(f, 0); }), "mmap", path, EINVAL);
  CHECK(fs.file_size(f) == 0);  // nothing changed
  fs.close(f);
}

TEST_CASE("posix file system: calls on a closed file fail with EBADF and name its path", "[log][io]") {
  TempDir dir;
  PosixFileSystem fs;
  const std::string path = dir.file("closed.log");
  File f = fs.open(path, OpenMode::create_new);
  fs.close(f);
  CHECK_FALSE(f.is_open());
  f.path = path;
  check_names(io_error_of([&] { (void)fs.file_size(f); }), "stat", path, EBADF);
  check_names(io_error_of([&] { fs.allocate(f, 4096); }), "allocate", path, EBADF);
  check_names(io_error_of([&] { fs.truncate(f, 4096); }), "truncate", path, EBADF);
  check_names(io_error_of([&] { (void)fs.map(f, 4096); }), "mmap", path, EBADF);
  check_names(io_error_of([&] { fs.sync(f, nullptr, 0, 10); }), "fdatasync", path, EBADF);
  check_names(io_error_of([&] { fs.write(f, 0, bytes_of("x")); }), "write", path, EBADF);
  fs.close(f);  // closing twice is harmless
  CHECK(fs.read_file(path).empty());
}

TEST_CASE("posix file system: a sync through a mapping that is not page-aligned fails", "[log][io]") {
  TempDir dir;
  PosixFileSystem fs;
  const std::string path = dir.file("m.log");
  File f = fs.open(path, OpenMode::create_new);
  fs.allocate(f, 8192);
  std::byte* mapping = fs.map(f, 8192);
  mapping[100] = std::byte{'m'};
  // msync wants a page-aligned address: one byte off is refused.
  check_names(io_error_of([&] { fs.sync(f, mapping + 1, 0, 10); }), "msync", path, EINVAL);
  // An empty range through the mapping falls back to fdatasync of the file.
  fs.sync(f, mapping, 0, 0);
  fs.sync(f, mapping, 100, 1);
  fs.unmap(mapping, 8192);
  fs.close(f);
  const std::vector<std::byte> content = fs.read_file(path);
  REQUIRE(content.size() == 8192);
  CHECK(content[100] == std::byte{'m'});
}

TEST_CASE("posix file system: path calls report missing files and files where directories should be",
          "[log][io]") {
  TempDir dir;
  PosixFileSystem fs;
  const std::string missing = dir.file("missing");
  const std::string plain = dir.file("plain");
  write_file(fs, plain, "plain file");

  const std::string renamed = io_error_of([&] { fs.rename(missing, dir.file("other")); });
  check_names(renamed, "rename", missing, ENOENT);
  CHECK(renamed.find(dir.file("other")) != std::string::npos);
  check_names(io_error_of([&] { fs.unlink(missing); }), "unlink", missing, ENOENT);
  check_names(io_error_of([&] { fs.sync_directory(missing); }), "open directory", missing, ENOENT);
  check_names(io_error_of([&] { fs.sync_directory(plain); }), "open directory", plain, ENOTDIR);
  check_names(io_error_of([&] { (void)fs.read_file(missing); }), "open", missing, ENOENT);
  check_names(io_error_of([&] { (void)fs.list_directory(missing); }), "list directory", missing, ENOENT);
  check_names(io_error_of([&] { (void)fs.list_directory(plain); }), "list directory", plain, ENOTDIR);

  // A regular file in the middle of a path.
  const std::string under_file = plain + "/child";
  check_names(io_error_of([&] { fs.create_directories(under_file + "/sub"); }), "create directory",
              under_file, ENOTDIR);
  check_names(io_error_of([&] { (void)fs.exists(under_file); }), "stat", under_file, ENOTDIR);
  CHECK_FALSE(fs.exists(missing));

  // A directory where a file is expected.
  fs.create_directories(dir.file("sub/deeper"));
  fs.create_directories(dir.file("sub/deeper"));  // already there: no error
  check_names(io_error_of([&] { (void)fs.open(dir.file("sub"), OpenMode::existing); }), "open",
              dir.file("sub"), EISDIR);
  check_names(io_error_of([&] { (void)fs.read_file(dir.file("sub")); }), "read", dir.file("sub"), EISDIR);

  // Nothing above changed the directory.
  CHECK(fs.list_directory(dir.path()) == std::vector<std::string>{"plain", "sub"});
  CHECK(text_of(fs.read_file(plain)) == "plain file");
}

TEST_CASE("posix file system: boot_id names this boot without a line break", "[log]") {
  PosixFileSystem fs;
  const std::string id = fs.boot_id();
  CHECK(id == fs.boot_id());
#ifdef __linux__
  CHECK_FALSE(id.empty());
#endif
  CHECK(id.find('\n') == std::string::npos);
  CHECK(&default_file_system() == &default_file_system());
}

TEST_CASE("file paths: join_path and parent_path handle empty, trailing and root slashes", "[log]") {
  CHECK(join_path("", "a.log") == "a.log");
  CHECK(join_path("dir", "a.log") == "dir/a.log");
  CHECK(join_path("dir/", "a.log") == "dir/a.log");
  CHECK(join_path("/", "a.log") == "/a.log");
  CHECK(parent_path("a.log") == ".");
  CHECK(parent_path("/a.log") == "/");
  CHECK(parent_path("dir/a.log") == "dir");
  CHECK(parent_path("/top/dir/a.log") == "/top/dir");
}

TEST_CASE("replace_file: a step that fails keeps the old content under the name", "[log][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  replace_file(fs, dir.path(), "name.tmp", "name", bytes_of("old content"));
  CHECK(text_of(posix.read_file(dir.file("name"))) == "old content");

  const auto [op, fault] = GENERATE(std::pair{Op::open, Fault::eio}, std::pair{Op::truncate, Fault::eio},
                                    std::pair{Op::write, Fault::enospc},
                                    std::pair{Op::write, Fault::short_write}, std::pair{Op::sync, Fault::eio},
                                    std::pair{Op::rename, Fault::eio},
                                    std::pair{Op::sync_directory, Fault::eio});
  CAPTURE(static_cast<int>(op), static_cast<int>(fault));
  fs.fail_call(op, 1, fault);
  CHECK_THROWS_AS(replace_file(fs, dir.path(), "name.tmp", "name", bytes_of("new content")), Error);
  CHECK(fs.faults_fired() == 1);
  if (op == Op::sync_directory) {
    // The rename happened; only its durability is in doubt.
    CHECK(text_of(posix.read_file(dir.file("name"))) == "new content");
  } else {
    CHECK(text_of(posix.read_file(dir.file("name"))) == "old content");
  }
  // A retry replaces a leftover temporary file and succeeds.
  replace_file(fs, dir.path(), "name.tmp", "name", bytes_of("third"));
  CHECK(text_of(posix.read_file(dir.file("name"))) == "third");
  CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"name"});
}

TEST_CASE("replace_file: without durability no sync is made, so a power loss undoes it", "[log][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  replace_file(fs, dir.path(), "name.tmp", "name", bytes_of("durable"));
  fs.fail_call(Op::sync, 1, Fault::eio);
  fs.fail_call(Op::sync_directory, 1, Fault::eio);
  replace_file(fs, dir.path(), "name.tmp", "name", bytes_of("volatile"), false);
  CHECK(fs.faults_fired() == 0);  // neither sync was called
  CHECK(text_of(posix.read_file(dir.file("name"))) == "volatile");
  fs.clear_faults();
  fs.power_loss({Unsynced::drop, 512, 1});
  CHECK(text_of(posix.read_file(dir.file("name"))) == "durable");
}

TEST_CASE("fault injection: each operation can be failed, and the error names it and the path",
          "[log][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  const std::string path = dir.file("f");
  write_file(posix, path, "content");
  File f = fs.open(path, OpenMode::existing);
  std::vector<std::byte> page(4096);
  const struct {
    Op op;
    const char* name;
    std::function<void()> call;
  } cases[] = {
      {Op::open, "open", [&] { (void)fs.open(path, OpenMode::existing); }},
      {Op::file_size, "stat", [&] { (void)fs.file_size(f); }},
      {Op::allocate, "allocate", [&] { fs.allocate(f, 8192); }},
      {Op::truncate, "truncate", [&] { fs.truncate(f, 0); }},
      {Op::map, "mmap", [&] { (void)fs.map(f, 4096); }},
      {Op::sync, "fdatasync", [&] { fs.sync(f, nullptr, 0, 0); }},
      {Op::write, "write", [&] { fs.write(f, 0, bytes_of("CONTENT")); }},
      {Op::rename, "rename", [&] { fs.rename(path, dir.file("g")); }},
      {Op::unlink, "unlink", [&] { fs.unlink(path); }},
      {Op::create_directories, "create directory", [&] { fs.create_directories(dir.file("d")); }},
      {Op::sync_directory, "fsync directory", [&] { fs.sync_directory(dir.path()); }},
      {Op::read_file, "read", [&] { (void)fs.read_file(path); }},
      {Op::list_directory, "list directory", [&] { (void)fs.list_directory(dir.path()); }},
      {Op::exists, "stat", [&] { (void)fs.exists(path); }},
  };
  std::uint64_t fired = 0;
  for (const auto& c : cases) {
    const Fault fault = (fired % 2 == 0) ? Fault::eio : Fault::enospc;
    fs.fail_call(c.op, 1, fault);
    const std::string message = io_error_of(c.call);
    const std::string where = c.op == Op::create_directories ? dir.file("d")
                              : c.op == Op::sync_directory || c.op == Op::list_directory ? dir.path()
                                                                                           : path;
    check_names(message, c.name, where, fault == Fault::eio ? EIO : ENOSPC);
    CHECK(message.find("injected fault") != std::string::npos);
    CHECK(fs.faults_fired() == ++fired);
  }
  fs.close(f);
  // No failed call reached the disk.
  CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"f"});
  CHECK(text_of(posix.read_file(path)) == "content");
}

TEST_CASE("fault injection: counts start at 1, and 0 is refused", "[log]") {
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  CHECK(rill::test::error_of([&] { fs.fail_call(Op::write, 0, Fault::eio); }) == ErrorCode::invalid_argument);
  CHECK(rill::test::error_of([&] { fs.cut_power_after(0); }) == ErrorCode::invalid_argument);
  CHECK_FALSE(fs.power_is_cut());
  CHECK(fs.faults_fired() == 0);
}

TEST_CASE("fault injection: errors of the wrapped file system pass through unchanged", "[log][io]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  const std::string missing = dir.file("missing");
  check_names(io_error_of([&] { (void)fs.open(missing, OpenMode::existing); }), "open", missing, ENOENT);
  check_names(io_error_of([&] { fs.unlink(missing); }), "unlink", missing, ENOENT);
  check_names(io_error_of([&] { fs.rename(missing, dir.file("to")); }), "open", missing, ENOENT);
  CHECK(fs.faults_fired() == 0);
  CHECK(posix.list_directory(dir.path()).empty());

  SECTION("a wrapped wrapper: a failed inner sync is not durable in the outer one") {
    FaultInjectingFileSystem outer(static_cast<FileSystem&>(fs));  // not a copy of fs
    File f = outer.open(dir.file("f"), OpenMode::create_new);
    outer.write(f, 0, bytes_of("first"));
    outer.sync(f, nullptr, 0, 0);
    outer.sync_directory(dir.path());
    outer.write(f, 0, bytes_of("SECON"));
    fs.fail_call(Op::sync, 1, Fault::eio);
    check_names(io_error_of([&] { outer.sync(f, nullptr, 0, 0); }), "fdatasync", dir.file("f"), EIO);
    outer.close(f);
    outer.power_loss({Unsynced::drop, 512, 1});
    CHECK(text_of(posix.read_file(dir.file("f"))) == "first");
  }
  SECTION("a wrapped wrapper: an inner rename or unlink failure removes no name") {
    FaultInjectingFileSystem outer(static_cast<FileSystem&>(fs));  // not a copy of fs
    write_file(outer, dir.file("a"), "A");
    outer.sync_directory(dir.path());
    fs.fail_call(Op::rename, 1, Fault::eio);
    CHECK_THROWS_AS(outer.rename(dir.file("a"), dir.file("b")), Error);
    fs.fail_call(Op::unlink, 1, Fault::eio);
    CHECK_THROWS_AS(outer.unlink(dir.file("a")), Error);
    write_file(outer, dir.file("b"), "B");
    outer.sync_directory(dir.path());
    fs.fail_call(Op::rename, 1, Fault::eio);
    CHECK_THROWS_AS(outer.rename(dir.file("a"), dir.file("b")), Error);  // over a durable name
    CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"a", "b"});
    outer.power_loss({Unsynced::keep, 512, 1});
    CHECK(posix.list_directory(dir.path()) == std::vector<std::string>{"a", "b"});
    CHECK(text_of(posix.read_file(dir.file("a"))) == "A");
    CHECK(text_of(posix.read_file(dir.file("b"))) == "B");
  }
}

TEST_CASE("power loss: seed 0 still draws garbage, the same for the same history", "[log]") {
  const auto lose_power = [](std::uint64_t seed) {
    TempDir dir;
    PosixFileSystem posix;
    FaultInjectingFileSystem fs(posix);
    write_file(fs, dir.file("f"), std::string(1024, 's'));
    File f = fs.open(dir.file("f"), OpenMode::existing);
    fs.sync(f, nullptr, 0, 0);
    fs.sync_directory(dir.path());
    fs.write(f, 100, bytes_of(std::string(600, 'u')));
    fs.close(f);
    fs.power_loss({Unsynced::garbage, 512, seed});
    return text_of(posix.read_file(dir.file("f")));
  };
  const std::string first = lose_power(0);
  REQUIRE(first.size() == 1024);
  CHECK(first.substr(0, 100) == std::string(100, 's'));
  CHECK(first.substr(100, 600) != std::string(600, 'u'));
  CHECK(first.substr(100, 600) != std::string(600, 's'));
  CHECK(lose_power(0) == first);
  CHECK(lose_power(1) != first);
}

TEST_CASE("power loss: a mapped sync of an empty range at the end keeps nothing new", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  File f = fs.open(dir.file("f"), OpenMode::create_new);
  fs.allocate(f, 4096);
  fs.sync(f, nullptr, 0, 0);
  fs.sync_directory(dir.path());
  std::byte* mapping = fs.map(f, 4096);
  mapping[10] = std::byte{'x'};
  fs.sync(f, mapping, 4096, 0);  // nothing inside the file: nothing durable
  fs.unmap(mapping, 4096);
  fs.close(f);
  CHECK(fs.boot_id() == posix.boot_id() + "/0");
  fs.power_loss({Unsynced::drop, 512, 1});
  CHECK(fs.boot_id() == posix.boot_id() + "/1");
  const std::vector<std::byte> after = posix.read_file(dir.file("f"));
  REQUIRE(after.size() == 4096);
  CHECK(after[10] == std::byte{0});
}

TEST_CASE("fault injection: two faults due on the same call fire on consecutive calls", "[log]") {
  TempDir dir;
  PosixFileSystem posix;
  FaultInjectingFileSystem fs(posix);
  write_file(posix, dir.file("f"), "f");
  fs.fail_call(Op::exists, 1, Fault::eio);
  fs.fail_call(Op::any, 1, Fault::enospc);
  CHECK_THROWS_WITH(fs.exists(dir.file("f")), Catch::Contains(std::strerror(EIO)));
  CHECK(fs.faults_fired() == 1);
  // The second fault was due on the same call; it is not lost.
  CHECK_THROWS_WITH(fs.exists(dir.file("f")), Catch::Contains(std::strerror(ENOSPC)));
  CHECK(fs.faults_fired() == 2);
  CHECK(fs.exists(dir.file("f")));
}
