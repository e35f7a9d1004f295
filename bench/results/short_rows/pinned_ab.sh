#!/usr/bin/env bash
# Old and new binaries of one bench/models case (CASE, default ppo_update)
# at the same time, one on each core (taskset), then with the cores swapped:
# both see the same phase of a shared machine. OLD and NEW are the two
# binaries; the rates printed are the case's own unit.
#   OLD=/tmp/models_old NEW=build/bench/models bench/results/short_rows/pinned_ab.sh 5
#   CASE=gpt_train OLD=... NEW=... bench/results/short_rows/pinned_ab.sh 5
set -u
rounds=${1:-5}
case=${CASE:-ppo_update}
rate() { grep "^$case " "$1" | awk '{print $2}'; }
for i in $(seq "$rounds"); do
  taskset -c 0 "$OLD" --cases "$case" --no-reference --samples 10 >/tmp/ab_o.txt &
  taskset -c 1 "$NEW" --cases "$case" --no-reference --samples 10 >/tmp/ab_n.txt
  wait
  a="old(core 0) $(rate /tmp/ab_o.txt)  new(core 1) $(rate /tmp/ab_n.txt)"
  taskset -c 1 "$OLD" --cases "$case" --no-reference --samples 10 >/tmp/ab_o.txt &
  taskset -c 0 "$NEW" --cases "$case" --no-reference --samples 10 >/tmp/ab_n.txt
  wait
  echo "round $i: $a | old(core 1) $(rate /tmp/ab_o.txt)  new(core 0) $(rate /tmp/ab_n.txt)"
done
