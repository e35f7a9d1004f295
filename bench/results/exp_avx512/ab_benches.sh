#!/bin/bash
# The kernel and model benchmarks with the library before the AVX-512 forms
# (A) and after (B), alternated, one thread, from the repository root:
#   bench/results/exp_avx512/ab_benches.sh DIR_A DIR_B OUT
# DIR_*: folders holding elementwise, autograd_overhead, models and dynamics
# built against each library. Each binary runs its PyTorch reference too, so
# every ratio comes from one run; the references run with the OpenBLAS
# variables removed from their environment.
set -e
[ $# = 3 ] || { echo "usage: $0 DIR_A DIR_B OUT" >&2; exit 2; }
a=$1 b=$2 out=$3
mkdir -p "$out"
run() {  # run LABEL BINARY ARGS...
  local label=$1 bin=$2
  shift 2
  echo "== $label: $(basename "$bin") $*" | tee -a "$out/benches.txt"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bin" "$@" --jsonl "$out/$label.jsonl" 2>&1 | tee -a "$out/benches.txt"
}
for round in 1 2; do
  for v in a b; do
    if [ $v = a ]; then dir=$a; else dir=$b; fi
    run $v "$dir/elementwise" --n 4096 --ops exp,sigmoid,tanh,silu,gelu --samples 9
    run $v "$dir/autograd_overhead" --samples 15
  done
done
for v in a b; do
  if [ $v = a ]; then dir=$a; else dir=$b; fi
  run $v "$dir/models" --cases gpt_train,gpt_infer,mlp_train,ppo_update
  run $v "$dir/dynamics"
done
