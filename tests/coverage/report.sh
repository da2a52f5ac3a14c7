#!/usr/bin/env bash
# Line and branch coverage of the codec and the durable log (src/codec,
# src/log) after the test suite ran in the coverage preset:
#
#   cmake --preset coverage && cmake --build --preset coverage
#   ctest --preset coverage
#   tests/coverage/report.sh            # [BUILD_DIR], default build/coverage
#
# Prints the per-file table and the two totals, and writes an HTML report to
# <build dir>/coverage-html. Always exits 0 (it reports; it does not gate).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build_dir=$(cd "${1:-$source_dir/build/coverage}" && pwd)
out=$build_dir/coverage-report
rc=(--rc lcov_branch_coverage=1 ${RILL_COVERAGE_LCOV_RC:-})
mkdir -p "$out"

lcov "${rc[@]}" --quiet --capture --directory "$build_dir" --base-directory "$source_dir" \
  --output-file "$out/all.info" 2>"$out/lcov.log" || { cat "$out/lcov.log"; echo "lcov capture failed"; exit 0; }
lcov "${rc[@]}" --quiet --extract "$out/all.info" "$source_dir/src/codec/*" "$source_dir/src/log/*" \
  --output-file "$out/codec_log.info" 2>>"$out/lcov.log" || { echo "lcov extract failed"; exit 0; }
lcov "${rc[@]}" --list "$out/codec_log.info" | sed "s|$source_dir/||"
echo
echo "codec + log (src/codec, src/log):"
lcov "${rc[@]}" --summary "$out/codec_log.info" 2>&1 | grep -E 'lines|branches|functions'
genhtml "${rc[@]}" --quiet --branch-coverage --prefix "$source_dir" --output-directory "$build_dir/coverage-html" \
  "$out/codec_log.info" >/dev/null 2>>"$out/lcov.log" && echo "HTML: $build_dir/coverage-html/index.html"
exit 0
