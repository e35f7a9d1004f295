#!/bin/bash
# make reproduce's loop under perf: every experiment of bench/EXPERIMENTS at
# --quick, one after another, each sampled by `perf record` (cpu-clock at 199
# Hz, no call graphs) and timed by /usr/bin/time (wall, user, system seconds).
# Outputs go where make reproduce puts them (build/reproduce/NAME/); the
# samples, times and logs to the folder given (default /tmp/reproduce_profile).
#   bench/results/reproduce_profile/run.sh [OUT]      (from the project root, after make bench)
#   EXPS="rl_baselines lancet" bench/results/reproduce_profile/run.sh OUT    (a subset)
set -e
out=${1:-/tmp/reproduce_profile}
mkdir -p "$out"
rm -f "$out/times.txt"
echo "$(date -u '+%F %T') start $(git rev-parse --short HEAD)"
for e in ${EXPS:-$(grep -v '^#' bench/EXPERIMENTS)}; do
  rm -rf build/reproduce/$e
  mkdir -p build/reproduce/$e
  /usr/bin/time -f "$e %e %U %S" -a -o "$out/times.txt" \
    perf record -q -F 199 -o "$out/$e.perf" -- \
    build/bench/$e --quick --out build/reproduce/$e --jsonl build/reproduce/$e/$e.jsonl > "$out/$e.log" 2>&1
  tail -1 "$out/times.txt"
done
bench/reproduce_summary.sh build/reproduce ${EXPS:-$(grep -v '^#' bench/EXPERIMENTS)} > "$out/summary.txt" 2>&1
echo "$(date -u '+%F %T') end"
