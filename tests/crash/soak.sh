#!/usr/bin/env bash
# soak.sh: the long form of the crash and stress tests, for a release build.
#
#   tests/crash/soak.sh [BUILD_DIR] [CYCLES]
#
# BUILD_DIR (default build/release) must hold the built crash_loop,
# power_loss_loop and ring_stress_test. CYCLES (default 10000) is per fsync
# policy for the crash loop (writers killed with SIGKILL) and the power-loss
# loop; the crash-point loop (writers that kill themselves mid-append,
# mid-roll, mid-retention) and the compaction loop (writers that kill
# themselves in a compaction pass) run CYCLES / 10, as their cycles are
# longer; the idempotent loop (writers that resend after each restart) runs
# CYCLES / 4. The
# ring stress tests run with RILL_TEST_SCALE=20. Environment: SOAK_SEED fixes
# the seed (default: the time), SOAK_SCALE the stress scale.
#
# Prints every loop's own lines as it goes, then one table of the figures
# ("loop s": seconds the whole loop took, all its policies together);
# exits 1 if anything failed.
set -u

build=${1:-build/release}
cycles=${2:-10000}
scale=${SOAK_SCALE:-20}
seed=${SOAK_SEED:-$(date +%s)}
point_cycles=$(( cycles / 10 > 0 ? cycles / 10 : 1 ))
idempotent_cycles=$(( cycles / 4 > 0 ? cycles / 4 : 1 ))
log=$(mktemp -t rill-soak-XXXXXX)
status=0
rows=()

for tool in tests/crash/crash_loop tests/crash/power_loss_loop tests/ring_stress_test; do
  if [[ ! -x "$build/$tool" ]]; then
    echo "soak: $build/$tool is missing; build the tests first" >&2
    exit 2
  fi
done

# Runs one loop, keeps its "policy=" lines as table rows named by the loop.
run_loop() {
  local name=$1
  shift
  local start=$SECONDS
  echo "== $name: $*"
  if ! "$@" | tee "$log"; then status=1; fi
  local seconds=$(( SECONDS - start ))
  while read -r line; do
    rows+=("$name $seconds $line")
  done < <(grep '^policy=' "$log")
}

run_loop crash_loop "$build/tests/crash/crash_loop" --cycles "$cycles" --policy all --seed "$seed"
run_loop crash_points "$build/tests/crash/crash_loop" --cycles "$point_cycles" --policy all --seed "$seed" --points
run_loop crash_compact "$build/tests/crash/crash_loop" --cycles "$point_cycles" --policy all --seed "$seed" --compact
run_loop crash_idempotent "$build/tests/crash/crash_loop" --cycles "$idempotent_cycles" --policy all \
  --seed "$seed" --idempotent
run_loop power_loss "$build/tests/crash/power_loss_loop" --cycles "$cycles" --policy all --seed "$seed"
run_loop power_loss_mixed "$build/tests/crash/power_loss_loop" --cycles "$cycles" --policy all \
  --seed "$seed" --mixed 1

echo "== ring stress tests, RILL_TEST_SCALE=$scale"
start=$SECONDS
if RILL_TEST_SCALE=$scale RILL_TEST_SEED=$seed "$build/tests/ring_stress_test" | tee "$log"; then
  ring_result="passed"
else
  ring_result="FAILED"
  status=1
fi
ring_seconds=$(( SECONDS - start ))
ring_summary=$(grep -E '^(All tests passed|test cases:)' "$log" | tail -1)
rm -f "$log"

# The table: one row per loop and policy, the counts that must stay zero
# next to the ones that show how much was exercised.
value() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
echo
# "mode": the compaction loop's crash points fired (of those armed) and offsets compacted
# away, the idempotent loop's records resent and held-but-unacknowledged.
mode_figures() {
  local fired removed resent
  fired=$(value fired "$1")
  removed=$(value removed "$1")
  resent=$(value resent "$1")
  if [[ -n $fired ]]; then
    echo "fired $fired, removed $removed"
  elif [[ -n $resent ]]; then
    echo "resent $resent, held $(value held_unacknowledged "$1")"
  else
    echo "-"
  fi
}
echo "soak: seed=$seed cycles=$cycles (crash points, compaction: $point_cycles; idempotent:" \
  "$idempotent_cycles) stress scale=$scale"
printf '| %-16s | %-11s | %7s | %12s | %9s | %4s | %8s | %10s | %-24s | %7s |\n' \
  loop policy cycles acknowledged durable lost phantoms duplicates mode "loop s"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------------------ ------------- --------- -------------- \
  ----------- ------ ---------- ------------ -------------------------- ---------
for row in "${rows[@]}"; do
  read -r name seconds line <<<"$row"
  durable=$(value durable "$line")
  printf '| %-16s | %-11s | %7s | %12s | %9s | %4s | %8s | %10s | %-24s | %7s |\n' "$name" \
    "$(value policy "$line")" "$(value cycles "$line")" "$(value acknowledged "$line")" "${durable:--}" \
    "$(value lost "$line")" "$(value phantoms "$line")" "$(value duplicates "$line")" \
    "$(mode_figures "$line")" "$seconds"
done
echo
echo "ring stress (scale $scale): $ring_result in ${ring_seconds} s; $ring_summary"
if (( status != 0 )); then echo "soak: FAILED (seed $seed)"; fi
exit $status
