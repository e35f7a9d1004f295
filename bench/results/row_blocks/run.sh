#!/bin/bash
# The measurements of README.md in this folder, as run on 2026-12-06 (UTC).
# old = commit db3d2c7 (a worktree build: git worktree add /tmp/wt_old db3d2c7,
# then make CUDA=0 build/bench/dynamics build/bench/orpo_d4rl build/bench/models
# there), new = the commit that adds this folder. Old and new run at the same
# time, one on each core (taskset), then with the cores swapped, so that both
# see the same phase of the machine; compare a core with itself.
set -u
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cd "$(dirname "$0")/../../.."
OUT=bench/results/row_blocks
OLD=${OLD:-/tmp/wt_old/build}
lscpu | grep 'Model name'
for v in old new; do
  lib=build/libgradlab.a
  [ $v = old ] && lib=$OLD/libgradlab.a
  g++ -std=c++20 -O3 -march=native -fopenmp -I. $OUT/row_blocks.cpp -o /tmp/row_blocks_$v \
    -Wl,--whole-archive $lib -Wl,--no-whole-archive -lfmt -L/usr/lib/x86_64-linux-gnu/openmpi/lib -lmpi
done
pair() {  # pair NAME OLD-COMMAND NEW-COMMAND: both at once, then swapped
  for r in a b; do
    taskset -c 0 bash -c "$2" >/tmp/rb_old_0.txt 2>&1 & taskset -c 1 bash -c "$3" >/tmp/rb_new_1.txt 2>&1; wait
    taskset -c 1 bash -c "$2" >/tmp/rb_old_1.txt 2>&1 & taskset -c 0 bash -c "$3" >/tmp/rb_new_0.txt 2>&1; wait
    for f in old_0 new_0 old_1 new_1; do echo "== $1 round $r: ${f/_/, core }"; cat /tmp/rb_$f.txt; done
  done
}
pair row_blocks /tmp/row_blocks_old /tmp/row_blocks_new > $OUT/row_blocks.txt
# one dynamics model of orpo_d4rl's quick budget (30 epochs), its training time and its outputs
od="--quick --methods mopo --datasets medium --ablations '' --seeds 1 --threads 1 --steps 10 --model-epochs 30"
pair orpo_d4rl_model "/usr/bin/time -f '%e s' $OLD/bench/orpo_d4rl $od --out /tmp/rb_od_old | grep -E 'prepared|mopo '" \
  "/usr/bin/time -f '%e s' build/bench/orpo_d4rl $od --out /tmp/rb_od_new | grep -E 'prepared|mopo '" > $OUT/orpo_d4rl_model.txt
diff <(grep -v seconds /tmp/rb_od_old/runs.csv) <(grep -v seconds /tmp/rb_od_new/runs.csv) && echo "runs.csv: the same, seconds aside" >> $OUT/orpo_d4rl_model.txt
# the dynamics bench at the quick experiments' width (64) and at its default (200)
for w in 64 200; do
  pair "dynamics width $w" "$OLD/bench/dynamics --width $w --states 20000 --no-reference --samples 10" \
    "build/bench/dynamics --width $w --states 20000 --no-reference --samples 10"
done > $OUT/dynamics.txt
# the small models
pair models "$OLD/bench/models --no-reference --samples 10" "build/bench/models --no-reference --samples 10" > $OUT/models.txt
