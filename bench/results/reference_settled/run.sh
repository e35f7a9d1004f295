#!/usr/bin/env bash
# The figures of this folder (README.md): gradlab's dynamics, rl_throughput
# and models benches against their PyTorch references, which now settle
# glibc's malloc first. From the repository root, after
#   make -j2 CUDA=0 build/bench/dynamics build/bench/rl_throughput build/bench/models
set -u
O=bench/results/reference_settled
mkdir -p $O
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
build/bench/dynamics --threads 1 --samples 5 --jsonl $O/dynamics_1thread.jsonl > $O/dynamics_1thread.txt 2>&1
for t in 1 2; do
  OMP_WAIT_POLICY=PASSIVE build/bench/rl_throughput --threads $t --jsonl $O/rl_throughput.jsonl \
    > $O/rl_throughput_${t}thread.txt 2>&1
done
for r in a b; do build/bench/models --threads 1 --jsonl $O/models_1thread.jsonl > $O/models_1thread_run$r.txt 2>&1; done
