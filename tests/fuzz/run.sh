#!/usr/bin/env bash
# Builds the fuzz targets with clang (libFuzzer + AddressSanitizer +
# UndefinedBehaviorSanitizer, the library itself instrumented for coverage)
# and fuzzes each one for a while over a scratch copy of its seed corpus.
#
#   tests/fuzz/run.sh                    every target, RILL_FUZZ_SECONDS each
#   tests/fuzz/run.sh catalog names      only these targets
#
# Environment:
#   RILL_FUZZ_SECONDS    time per target (default 30)
#   RILL_FUZZ_BUILD_DIR  build directory (default build/fuzz under the source)
#   RILL_FUZZ_WORK_DIR   where the corpus copies and crash artifacts go
#                        (default <build dir>/fuzz-work); inputs that the
#                        fuzzer found interesting stay there, to be merged
#                        into tests/fuzz/corpus by hand when worth keeping
#   RILL_FUZZ_TMPDIR     where the segment targets write their files
#                        (default /dev/shm when writable: they sync files
#                        and directories, which costs nothing on tmpfs)
#   CC, CXX              the compilers (default clang-14, clang++-14)
#
# Exits non-zero when a target crashes; the input that did it is written to
# <work dir>/<target>/crash-* and the command to reproduce it is printed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
seconds=${RILL_FUZZ_SECONDS:-30}
build_dir=${RILL_FUZZ_BUILD_DIR:-$source_dir/build/fuzz}
work_dir=${RILL_FUZZ_WORK_DIR:-$build_dir/fuzz-work}
export CC=${CC:-clang-14}
export CXX=${CXX:-clang++-14}

# The list in CMakeLists.txt is the one truth about which targets exist.
all_targets=$(sed -n -e 's/^set(RILL_FUZZ_TARGETS \(.*\))$/\1/p' \
  -e 's/^ *list(APPEND RILL_FUZZ_TARGETS \(.*\))$/\1/p' "$here/CMakeLists.txt" | tr '\n' ' ')
targets=${*:-$all_targets}

cmake -S "$source_dir" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DRILL_SANITIZE=address,undefined,fuzzer-no-link \
  -DRILL_BUILD_BENCHMARKS=OFF -DRILL_BUILD_EXAMPLES=OFF -DRILL_INSTALL=OFF >/dev/null
build_targets=()
for name in $targets; do build_targets+=("${name}_fuzz"); done
cmake --build "$build_dir" -j "${RILL_FUZZ_JOBS:-2}" --target "${build_targets[@]}"

if [[ -z "${RILL_FUZZ_TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]]; then RILL_FUZZ_TMPDIR=/dev/shm; fi
export TMPDIR=${RILL_FUZZ_TMPDIR:-${TMPDIR:-/tmp}}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for name in $targets; do
  binary=$(find "$build_dir/tests/fuzz" -maxdepth 1 -name "${name}_fuzz" -type f | head -n1)
  corpus=$work_dir/$name/corpus
  rm -rf "${corpus:?}"
  mkdir -p "$corpus"
  cp -R "$here/corpus/$name/." "$corpus/"
  echo "== $name: fuzzing for ${seconds}s over $(find "$corpus" -type f | wc -l) seeds"
  if ! "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 \
      -print_final_stats=1 -artifact_prefix="$work_dir/$name/" "$corpus" \
      2>"$work_dir/$name/log"; then
    tail -n 60 "$work_dir/$name/log"
    echo "== $name: FAILED; reproduce with: $binary $work_dir/$name/crash-*"
    failed+=("$name")
  else
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
      "$work_dir/$name/log" | sed "s/^/   /"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz targets that failed: ${failed[*]}"
  exit 1
fi
echo "all fuzz targets ran ${seconds}s without a finding"
