#!/usr/bin/env bash
# Old and new builds of bench/rl_throughput (one thread, no reference), at the
# same time, one on each core (taskset), then with the cores swapped.
# Prints environment steps/s per case (higher is better).
#   OLD=/tmp/rl_old NEW=build/bench/rl_throughput bench/results/autograd_pool/pinned_ab_rl.sh 2
set -u
rounds=${1:-2}
rates() { grep -E "^(ppo|sac|td3)/" "$1" | awk '{printf "%s %s  ", $1, $3}'; }
for i in $(seq "$rounds"); do
  for cores in "0 1" "1 0"; do
    set -- $cores
    taskset -c "$1" "$OLD" --threads 1 --no-reference --runs 1 >/tmp/ab_rl_o.txt &
    taskset -c "$2" "$NEW" --threads 1 --no-reference --runs 1 >/tmp/ab_rl_n.txt
    wait
    echo "round $i: old(core $1) $(rates /tmp/ab_rl_o.txt)| new(core $2) $(rates /tmp/ab_rl_n.txt)"
  done
done
