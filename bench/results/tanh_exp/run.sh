#!/bin/bash
# The measurements of README.md in this folder, as run on 2026-12-06 (UTC).
# old = commit db3d2c7 (a worktree build: git worktree add /tmp/wt_old db3d2c7,
# then make CUDA=0 build/bench/models build/bench/autograd_overhead
# build/bench/rl_throughput there), new = the commit that adds this folder
# (which also has the row blocks of ../row_blocks/; tanh's loops run over
# tensors of one shape, a single run, which that change does not touch).
# Old and new run at the same time, one on each core (taskset), then swapped.
set -u
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cd "$(dirname "$0")/../../.."
OUT=bench/results/tanh_exp
OLD=${OLD:-/tmp/wt_old/build}
lscpu | grep 'Model name'
for v in old new; do
  lib=build/libgradlab.a
  [ $v = old ] && lib=$OLD/libgradlab.a
  g++ -std=c++20 -O3 -march=native -fopenmp -I. $OUT/tanh_timing.cpp -o /tmp/tanh_timing_$v \
    -Wl,--whole-archive $lib -Wl,--no-whole-archive -lfmt -L/usr/lib/x86_64-linux-gnu/openmpi/lib -lmpi
done
pair() {  # pair NAME OLD-COMMAND NEW-COMMAND: both at once, then swapped
  for r in a b; do
    taskset -c 0 bash -c "$2" >/tmp/te_old_0.txt 2>&1 & taskset -c 1 bash -c "$3" >/tmp/te_new_1.txt 2>&1; wait
    taskset -c 1 bash -c "$2" >/tmp/te_old_1.txt 2>&1 & taskset -c 0 bash -c "$3" >/tmp/te_new_0.txt 2>&1; wait
    for f in old_0 new_0 old_1 new_1; do echo "== $1 round $r: ${f/_/, core }"; cat /tmp/te_$f.txt; done
  done
}
pair tanh_timing /tmp/tanh_timing_old /tmp/tanh_timing_new > $OUT/tanh_timing.txt
pair ppo_update "$OLD/bench/models --cases ppo_update --no-reference --samples 10" \
  "build/bench/models --cases ppo_update --no-reference --samples 10" > $OUT/ppo_update_ab.txt
pair autograd_overhead "$OLD/bench/autograd_overhead --no-reference" "build/bench/autograd_overhead --no-reference" \
  > $OUT/autograd_overhead_ab.txt
# against PyTorch in the same run, the new build alone, one thread
build/bench/models --threads 1 --jsonl $OUT/models_1thread.jsonl > $OUT/models_1thread.txt 2>&1
build/bench/autograd_overhead --threads 1 --jsonl $OUT/autograd_overhead.jsonl > $OUT/autograd_overhead_1thread.txt 2>&1
OMP_WAIT_POLICY=PASSIVE build/bench/rl_throughput --threads 1 --jsonl $OUT/rl_throughput.jsonl > $OUT/rl_throughput_1thread.txt 2>&1
# a second run against PyTorch right after (the README's second column)
build/bench/models --threads 1 --cases ppo_update,mlp_train > $OUT/models_1thread_run2.txt 2>&1
build/bench/autograd_overhead --threads 1 > $OUT/autograd_overhead_1thread_run2.txt 2>&1
