#!/bin/bash
# The measurements of README.md in this folder, as run on 2026-12-05 (UTC).
# old = commit b3d3159, new = commit 334aaed. The bench binaries of b3d3159
# were copied to /tmp/oldbin before the new ones were built; the old library
# is a worktree build (git worktree add /tmp/wt_old b3d3159; make -j2 CUDA=0
# build/libgradlab.a there). Outputs go to this folder; nothing else ran.
set -u
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cd /work/main
OUT=bench/results/narrow_products
lscpu | grep 'Model name'
# attention_heads.cpp (this folder) against both libraries
for v in old new; do
  lib=build/libgradlab.a; [ $v = old ] && lib=/tmp/wt_old/build/libgradlab.a
  g++ -std=c++20 -O3 -march=native -fopenmp -I. -c $OUT/attention_heads.cpp -o /tmp/ah.o
  g++ -fopenmp /tmp/ah.o $lib -o /tmp/attention_heads_$v -lfmt
done
for r in a b c; do for v in old new; do
  for c in "64 4 12 12 1 300" "64 4 12 12 0 300" "4 12 64 64 0 30"; do
    echo "$v round $r: $(OMP_NUM_THREADS=1 /tmp/attention_heads_$v $c)"
  done
done; done > $OUT/attention_heads.txt
# narrow products through matmul, one thread
S=12x12x12:tB,12x12x12,256x256x1:tB,256x1x256,256x64x4:tB,64x256x4:tA,256x64x1:tB,2560x256x1:tB,256x64x16
for r in a b; do for v in old new; do
  b=build/bench/gemm; [ $v = old ] && b=/tmp/oldbin/gemm
  $b --sizes '' --shapes $S --samples 15 --no-reference > $OUT/gemm_${v}_$r.txt
done; done
build/bench/gemm --sizes '' --shapes $S --samples 15 > $OUT/gemm_new_reference.txt
# RL end to end against the PyTorch scripts, one thread (same-run ratio)
build/bench/rl_throughput --threads 1 --jsonl $OUT/rl_throughput.jsonl > $OUT/rl_throughput_1thread.txt
