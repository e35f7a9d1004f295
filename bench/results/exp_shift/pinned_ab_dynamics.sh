#!/usr/bin/env bash
# Old and new builds of bench/dynamics (one thread, no reference) at the same
# time, one on each core (taskset), then with the cores swapped. Prints the
# steps/s of train_step and model_step (higher is better).
#   OLD=/tmp/dynamics_old NEW=build/bench/dynamics bench/results/exp_shift/pinned_ab_dynamics.sh 3
set -u
rounds=${1:-3}
rates() { awk '/^(train_step|model_step) / {printf "%s %s  ", $1, $2}' "$1"; }
for i in $(seq "$rounds"); do
  for cores in "0 1" "1 0"; do
    set -- $cores
    taskset -c "$1" "$OLD" --no-reference --samples 7 >/tmp/ab_dyn_o.txt &
    taskset -c "$2" "$NEW" --no-reference --samples 7 >/tmp/ab_dyn_n.txt
    wait
    echo "round $i: old(core $1) $(rates /tmp/ab_dyn_o.txt)| new(core $2) $(rates /tmp/ab_dyn_n.txt)"
  done
done
