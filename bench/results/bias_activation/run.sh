#!/bin/bash
# The measurements of README.md in this folder, as run on 2026-12-06 (UTC).
# old = commit 2a19822, new = commit 2d2b16f. The old bench binaries are
# a worktree build (git worktree add /tmp/wt_old 2a19822; make -j2 CUDA=0
# build/libgradlab.a build/bench/gemm build/bench/dynamics build/bench/orpo_toy
# build/bench/orpo_d4rl build/bench/exploration there). Nothing else ran.
set -u
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cd /work/main
OUT=bench/results/bias_activation
OLD=/tmp/wt_old/build
lscpu | grep 'Model name'
# bias_activation_pass.cpp (this folder): the old library has no fused entry
for v in old new; do
  lib=build/libgradlab.a flag=-DWITH_FUSED
  [ $v = old ] && lib=$OLD/libgradlab.a flag=
  g++ -std=c++20 -O3 -march=native -fopenmp -I. $flag -c $OUT/bias_activation_pass.cpp -o /tmp/bap.o
  g++ -fopenmp /tmp/bap.o -Wl,--whole-archive $lib -Wl,--no-whole-archive -o /tmp/bias_activation_pass_$v -lfmt \
    -L/usr/lib/x86_64-linux-gnu/openmpi/lib -lmpi
done
for r in a b c; do for v in old new; do
  for c in "7 256 64 300" "7 256 200 100" "7 8192 64 10"; do
    echo "$v round $r: $(OMP_NUM_THREADS=1 /tmp/bias_activation_pass_$v $c)"
  done
done; done > $OUT/bias_activation_pass.txt
# products whose last panel of columns is part-filled, one thread
S=256x200x200:tB,256x200x200,200x256x200:tA,256x100x100,256x80x80,256x72x72:tB,256x256x256
for r in a b; do for v in old new; do
  b=build/bench/gemm; [ $v = old ] && b=$OLD/bench/gemm
  $b --sizes '' --shapes $S --samples 15 --no-reference > $OUT/gemm_${v}_$r.txt
done; done
build/bench/gemm --sizes '' --shapes $S --samples 15 > $OUT/gemm_new_reference.txt
# the dynamics ensemble's training and model steps, widths 64 (orpo_d4rl) and 200 (orpo_toy)
for r in a b c; do for v in old new; do
  b=build/bench/dynamics; [ $v = old ] && b=$OLD/bench/dynamics
  for w in 64 200; do
    echo "$v round $r width $w: $($b --width $w --samples 7 --no-reference | grep -E 'train_step|model_step' | tr -s ' ' | tr '\n' ' ')"
  done
done; done > $OUT/dynamics_old_new.txt
build/bench/dynamics --threads 1 --samples 5 --jsonl $OUT/dynamics_1thread.jsonl > $OUT/dynamics_1thread.txt
