#!/bin/bash
# A paired comparison of two builds over make reproduce's loop: every
# experiment of bench/EXPERIMENTS at --quick runs with build A's binary and
# build B's back to back (the order alternating from one experiment to the
# next), so that the machine's drift over the half hour falls on both alike.
# Each run is timed by /usr/bin/time (wall, user, system seconds) into
# OUT/times.txt as "experiment a|b wall user system"; its outputs go to
# OUT/a/NAME and OUT/b/NAME, to compare with
#   grep -Ev 'seconds|sps|steps_per_s|wall' OUT/a/NAME/runs.csv
#   bench/results/reproduce_profile/ab.sh DIR_A DIR_B OUT   (DIR_*: folders holding the experiment binaries)
#   bench/results/reproduce_profile/ab.sh /tmp/old/bench build/bench /tmp/ab
set -e
[ $# = 3 ] || { echo "usage: $0 DIR_A DIR_B OUT  (DIR_*: folders with the experiment binaries)" >&2; exit 2; }
dir_a=$1 dir_b=$2 out=$3
mkdir -p "$out"
rm -f "$out/times.txt"
echo "$(date -u '+%F %T') start"
i=0
for e in $(grep -v '^#' bench/EXPERIMENTS); do
  if [ $((i % 2)) = 0 ]; then order="a b"; else order="b a"; fi
  for v in $order; do
    if [ "$v" = a ]; then bin=$dir_a/$e; else bin=$dir_b/$e; fi
    rm -rf "$out/$v/$e"
    mkdir -p "$out/$v/$e"
    /usr/bin/time -f "$e $v %e %U %S" -a -o "$out/times.txt" \
      "$bin" --quick --out "$out/$v/$e" --jsonl "$out/$v/$e/$e.jsonl" > "$out/$v/$e/log.txt" 2>&1
    tail -1 "$out/times.txt"
  done
  i=$((i + 1))
done
echo "$(date -u '+%F %T') end"
