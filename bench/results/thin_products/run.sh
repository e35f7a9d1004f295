#!/bin/bash
# The measurements of README.md in this folder, as they were run on
# 2026-12-05 18:32-18:40 UTC. old = the bench binaries of commit 9a73ecc,
# new = those of commit 8875ebe (make -j2 build/bench/{gemm,models,gpt2_cpu}),
# copied to /tmp/rec as gemm_old, gemm_new, models_old, ... The outputs went to
# /tmp/rec/out (this folder). The models runs against PyTorch start in the
# repository root, where bench/pytorch/models.py is found.
set -u
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cd /tmp/rec/out
S=256x768x3072,256x3072x768,256x768x2304,256x768x768,256x50257x768,256x768x3072:tB,256x3072x768:tB,256x768x2304:tB,256x768x768:tB,256x768x50257:tB,3072x256x768:tA,768x256x3072:tA,2304x256x768:tA,768x256x768:tA,50257x256x768:tA
R=1x128x384:tB,1x128x512:tB,1x512x128:tB,1x256x256:tB,1x768x3072:tB,1x3072x768:tB,1x128x384,1x768x3072
lscpu | grep 'Model name'
for t in 1 2; do ../gemm_new --threads $t --sizes 1024 --shapes $S --samples 5 --no-reference --jsonl gemm_new.jsonl > gemm_new_${t}thread.txt; done
for b in old new; do ../gemm_$b --threads 2 --sizes 1024 --shapes $S --samples 5 --no-reference > gemm_${b}_2thread_ab.txt; done
for b in old new; do ../gemm_$b --threads 1 --sizes 64 --shapes $R --samples 9 --no-reference > gemm_${b}_rows.txt; done
for r in a b c d e; do for b in old new; do for t in 1 2; do
  ../gpt2_$b --threads $t --steps 5 --warmup 1 > gpt2_${b}_${t}thread_$r.txt
done; done; done   # rounds c-e ran after the models runs below
for b in old new; do for t in 1 2; do
  ../models_$b --threads $t --cases gpt_generate_b1,gpt_generate_b32,gpt_infer,gpt_train --no-reference --samples 10 \
    > models_${b}_${t}thread_noref.txt
done; done
cd /work/main
for t in 1 2; do /tmp/rec/models_new --threads $t --jsonl /tmp/rec/out/models_new.jsonl > /tmp/rec/out/models_new_${t}thread.txt; done
