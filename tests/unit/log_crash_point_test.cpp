// crash_point: an armed point kills the process with SIGKILL on the chosen
// pass and not before; unarmed or other names do nothing; bad specs are refused.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <tuple>
#include <utility>

#include <catch2/catch.hpp>

#include "log/crash_point.hpp"
#include "support/crash_points.hpp"

namespace {

using rill::test::arm_crash_point;
using rill::log::detail::crash_point;

// Forks a child that arms `spec`, passes `name` `passes` times, writing a
// byte to a pipe after each pass, and exits 0. Returns the bytes written
// and the child's wait status.
std::pair<int, int> run_child(const char* spec, const char* name, int passes) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    if (!arm_crash_point(spec)) ::_exit(2);
    for (int i = 0; i < passes; ++i) {
      crash_point(name);
      if (::write(fds[1], "x", 1) != 1) ::_exit(3);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  int passed = 0;
  char c;
  while (::read(fds[0], &c, 1) == 1) ++passed;
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return {passed, status};
}

}  // namespace

TEST_CASE("crash point: the armed point kills the process on the chosen pass", "[log][crash]") {
  const auto [passed, status] = run_child("log.mid_roll:3", "log.mid_roll", 10);
  CHECK(passed == 2);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("crash point: other names and an empty spec do nothing", "[log][crash]") {
  auto [passed, status] = run_child("log.mid_roll:1", "segment.mid_append", 5);
  CHECK(passed == 5);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  std::tie(passed, status) = run_child("", "log.mid_roll", 5);
  CHECK(passed == 5);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

TEST_CASE("crash point: malformed specs are refused and leave it disarmed", "[log][crash]") {
  for (const char* spec : {"log.mid_roll", "log.mid_roll:", "log.mid_roll:0", "log.mid_roll:x", ":3",
                           "log.mid_roll:-1"}) {
    INFO(spec);
    CHECK_FALSE(arm_crash_point(spec));
    CHECK_FALSE(rill::test::crash_point_armed());
  }
  crash_point("log.mid_roll");  // unarmed: returns
  CHECK(arm_crash_point(""));
}
