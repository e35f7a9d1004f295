#!/usr/bin/env bash
# Old and new builds of bench/autograd_overhead at one size, at the same time,
# one on each core (taskset), then with the cores swapped, so that both see
# the same phase of a shared machine. Prints microseconds per op (lower is
# better) for the three cases.
#   OLD=/tmp/ao_old NEW=build/bench/autograd_overhead bench/results/autograd_pool/pinned_ab.sh 16 3
set -u
size=${1:-16}
rounds=${2:-3}
us() { grep "^$2 " "$1" | awk '{print $2}'; }
line() {  # file label
  echo "$2 bwd $(us "$1" chain_fwd_bwd) rec $(us "$1" chain_fwd_record) nograd $(us "$1" chain_fwd_nograd)"
}
for i in $(seq "$rounds"); do
  for cores in "0 1" "1 0"; do
    set -- $cores
    taskset -c "$1" "$OLD" --size "$size" --no-reference --samples 15 >/tmp/ab_ao_o.txt &
    taskset -c "$2" "$NEW" --size "$size" --no-reference --samples 15 >/tmp/ab_ao_n.txt
    wait
    echo "size $size round $i: $(line /tmp/ab_ao_o.txt "old(core $1)") | $(line /tmp/ab_ao_n.txt "new(core $2)")"
  done
done
