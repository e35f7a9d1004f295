#!/bin/bash
# The second part of README.md in this folder: narrow products of at most half
# a vector of columns with rows across the lanes. old = the bench binaries of
# b3d3159 (/tmp/oldbin), new = the working tree after commit adb50d0 with
# narrow_across (committed right after). Same machine, nothing else running.
set -u
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cd /work/main
OUT=bench/results/narrow_products
S=256x256x1:tB,256x64x4:tB,64x256x4:tA,256x64x1:tB,2560x256x1:tB,256x64x3:tB,256x64x2:tB
for r in a b; do for v in old new; do
  b=build/bench/gemm; [ $v = old ] && b=/tmp/oldbin/gemm
  $b --sizes '' --shapes $S --samples 15 --no-reference > $OUT/across_gemm_${v}_$r.txt
done; done
build/bench/gemm --sizes '' --shapes $S --samples 15 > $OUT/across_gemm_new_reference.txt
for r in a b; do for v in old new; do
  b=build/bench/rl_throughput; [ $v = old ] && b=/tmp/oldbin/rl_throughput
  $b --threads 1 --cases sac,td3 --no-reference --runs 1 > $OUT/across_rl_${v}_$r.txt
done; done
build/bench/rl_throughput --threads 1 --jsonl $OUT/across_rl_throughput.jsonl > $OUT/across_rl_throughput_1thread.txt
