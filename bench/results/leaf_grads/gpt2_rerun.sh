#!/usr/bin/env bash
# The GPT-2 124M step after the change, on 1 and 2 threads, three rounds, as
# ../status_2026-12-07/run.sh measures it. Run from the repository root after
# `make -j2 CUDA=0 build/bench/gpt2_cpu`; writes to gpt2_after/ here.
set -euo pipefail
out=$(dirname "$0")/gpt2_after
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE
for r in a b c; do for t in 1 2; do
  build/bench/gpt2_cpu --threads $t --steps 7 --warmup 2 --jsonl "$out/gpt2_cpu.jsonl" > "$out/gpt2_cpu_${t}thread_run$r.txt"
done; done
