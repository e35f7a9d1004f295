#!/usr/bin/env bash
# Runs one test program for `make test` (a doctest suite, a bench binary's
# --smoke run, the bench CLI check) under a time limit, its output in a log;
# prints one line when it passes and the end of its log when it fails.
#   tests/run_one.sh SECONDS LOG PROGRAM [ARGS...]
#   tests/run_one.sh --summary LOGDIR   # totals over the runs, the closing line
set -uo pipefail

if [ "${1:-}" = --summary ]; then
  dir=$2
  passed=0 failed=0 skipped=0 runs=0 bad=0
  for result in "$dir"/*.result; do
    [ -e "$result" ] || continue
    read -r status p f s _ <"$result"
    runs=$((runs + 1))
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    [ "$status" = ok ] || bad=$((bad + 1))
  done
  if [ "$runs" = 0 ]; then
    echo "make test: no test ran (no results in $dir)"
    exit 1
  fi
  echo "$runs runs ($bad failed); test cases and smoke runs:"
  echo "gradlab: $passed passed, $failed failed, $skipped skipped"
  [ "$bad" = 0 ] && [ "$failed" = 0 ]
  exit
fi

limit=$1 log=$2
shift 2
name=$(basename "$log" .log)
mkdir -p "$(dirname "$log")"
start=$(date +%s%N)
timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')

# doctest's closing line: "[doctest] test cases: 13 | 13 passed | 0 failed | 2 skipped";
# tests/bench_cli.sh ends with "bench-cli: N passed, M failed"; a smoke run counts as one.
counts=$(awk '
  /^\[doctest\] test cases:/ { gsub(/[|]/, " "); print $5, $7, $9; found = 1 }
  /^(bench-cli|examples): [0-9]+ passed, [0-9]+ failed/ { gsub(/,/, ""); print $2, $4, 0; found = 1 }
  END { if (!found) print "" }' "$log" | tail -n 1)
if [ -z "$counts" ]; then
  if [ "$rc" = 0 ]; then counts="1 0 0"; else counts="0 1 0"; fi
fi
read -r p f s <<<"$counts"

if [ "$rc" = 0 ]; then
  printf 'ok    %-24s %6s s  %s passed, %s skipped\n' "$name" "$secs" "$p" "$s"
  echo "ok $p $f $s $secs" >"${log%.log}.result"
  exit 0
fi
[ "$f" = 0 ] && f=1
echo "fail $p $f $s $secs" >"${log%.log}.result"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  printf 'FAIL  %-24s timed out after %s s (TEST_TIMEOUT=%s): %s\n' "$name" "$secs" "$limit" "$*"
else
  printf 'FAIL  %-24s exit %s after %s s: %s\n' "$name" "$rc" "$secs" "$*"
fi
echo "---- last 60 lines of $log"
tail -n 60 "$log"
echo "----"
exit 1
