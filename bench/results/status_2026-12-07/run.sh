#!/usr/bin/env bash
# Re-measures, in one sitting, the figures the performance targets name that
# `make bench-results` does not: end-to-end RL throughput against the PyTorch
# loops, and the GPT-2 124M step on 1 and 2 threads (two rounds). Run from the
# repository root after `make -j2 CUDA=0 bench`; writes next to this script.
set -euo pipefail
out=$(dirname "$0")
export OMP_WAIT_POLICY=PASSIVE
for t in 1 2; do
  build/bench/rl_throughput --threads $t --jsonl "$out/rl_throughput.jsonl" > "$out/rl_throughput_${t}thread.txt"
done
for r in a b; do for t in 1 2; do
  build/bench/gpt2_cpu --threads $t --steps 7 --warmup 2 --jsonl "$out/gpt2_cpu.jsonl" > "$out/gpt2_cpu_${t}thread_run$r.txt"
done; done
# The same GPT-2 loop with the default wait policy (idle threads spin, then
# sleep): what a user who sets nothing gets on a machine of their own.
unset OMP_WAIT_POLICY
mkdir -p "$out/default_wait_policy"
for r in a b; do for t in 1 2; do
  build/bench/gpt2_cpu --threads $t --steps 7 --warmup 2 --jsonl "$out/default_wait_policy/gpt2_cpu.jsonl" \
    > "$out/default_wait_policy/gpt2_cpu_${t}thread_run$r.txt"
done; done
