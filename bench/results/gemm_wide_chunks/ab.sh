#!/usr/bin/env bash
# Alternates two builds of bench/gemm (OLD, NEW: paths to the binaries) on the
# products wider than one chunk of 4,096 columns, on 2 threads, with idle
# OpenMP threads sleeping (PASSIVE) and spinning (the default).
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-3}
SHAPES=256x768x50257:tB,256x50257x768,64x300x9000,2000x64x4900
for r in $(seq "$ROUNDS"); do
  for v in old new; do
    bin=$OLD; [ $v = new ] && bin=$NEW
    for policy in PASSIVE default; do
      if [ $policy = PASSIVE ]; then export OMP_WAIT_POLICY=PASSIVE; else unset OMP_WAIT_POLICY; fi
      "$bin" --sizes 512 --shapes $SHAPES --threads 2 --no-reference --samples 5 | tail -4 |
        sed "s/^/round $r $v $policy  /"
    done
  done
done
