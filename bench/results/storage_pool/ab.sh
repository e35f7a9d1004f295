#!/usr/bin/env bash
# Alternates two builds of bench/autograd_overhead (OLD, NEW: paths to the
# binaries) on 1 thread at three tensor sizes, ROUNDS rounds, no reference.
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-5}
for r in $(seq "$ROUNDS"); do
  for size in 4 16 64; do
    for v in old new; do
      bin=$OLD; [ $v = new ] && bin=$NEW
      "$bin" --size $size --threads 1 --samples 9 --no-reference | grep '^chain_' | sed "s/^/round $r size $size $v  /"
    done
  done
done
