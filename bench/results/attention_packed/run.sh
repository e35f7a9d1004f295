#!/usr/bin/env bash
# The figures of README.md: the GPT training step before and after
# attention_packed, old and new binaries at once on the two cores (then
# swapped); GPT-2 small the same way; the models table against PyTorch; the
# autograd overhead at three tensor sizes. From the repository root, with the
# binaries before the change in /tmp/oldbin (make -j2 CUDA=0 build/bench/models
# build/bench/gpt2_cpu at commit 662cc64, copied there).
set -u
O=bench/results/attention_packed
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
CASE=gpt_train OLD=/tmp/oldbin/models NEW=build/bench/models bench/results/short_rows/pinned_ab.sh 5 > $O/pinned_ab_gpt_train.txt 2>&1
for r in 1 2; do
  taskset -c 0 /tmp/oldbin/gpt2_cpu --threads 1 --steps 5 --warmup 1 > /tmp/g_o.txt 2>&1 &
  taskset -c 1 build/bench/gpt2_cpu --threads 1 --steps 5 --warmup 1 > /tmp/g_n.txt 2>&1
  wait
  echo "round $r a: old(core 0) $(grep -A2 '^threads' /tmp/g_o.txt | tail -1)" >> $O/pinned_ab_gpt2_cpu.txt
  echo "round $r a: new(core 1) $(grep -A2 '^threads' /tmp/g_n.txt | tail -1)" >> $O/pinned_ab_gpt2_cpu.txt
  taskset -c 1 /tmp/oldbin/gpt2_cpu --threads 1 --steps 5 --warmup 1 > /tmp/g_o.txt 2>&1 &
  taskset -c 0 build/bench/gpt2_cpu --threads 1 --steps 5 --warmup 1 > /tmp/g_n.txt 2>&1
  wait
  echo "round $r b: old(core 1) $(grep -A2 '^threads' /tmp/g_o.txt | tail -1)" >> $O/pinned_ab_gpt2_cpu.txt
  echo "round $r b: new(core 0) $(grep -A2 '^threads' /tmp/g_n.txt | tail -1)" >> $O/pinned_ab_gpt2_cpu.txt
done
build/bench/models --threads 1 --jsonl $O/models_1thread.jsonl > $O/models_1thread.txt 2>&1
for s in 4 16 64; do
  build/bench/autograd_overhead --size $s --jsonl $O/autograd_overhead_sizes.jsonl >> $O/autograd_overhead_sizes.txt 2>&1
done
# alternated_gpt_train.txt: the two binaries one after the other, six times.
for i in 1 2 3 4 5 6; do
  echo "round $i old $(/tmp/oldbin/models --cases gpt_train --no-reference --samples 10 | grep ^gpt_train | awk '{print $2}')" \
    "new $(build/bench/models --cases gpt_train --no-reference --samples 10 | grep ^gpt_train | awk '{print $2}')"
done > $O/alternated_gpt_train.txt
# The profile shares: perf record -F 999 -o B.data BINARY --cases gpt_train --no-reference --samples 12,
# then perf report -i B.data --no-children --sort symbol, for each binary.
