#!/bin/bash
# Old and new binaries alternated, for bench/results/gemm_in_place/README.md.
# OLD: a build of the commit before the change (git worktree add /tmp/wt_old
# b7cf1ba && make -j2 CUDA=0 build/bench/{gemm,models,rl_throughput} there);
# NEW: this checkout's build/bench. Outputs land in this folder.
set -u
OLD=${OLD:-/tmp/wt_old/build/bench}
NEW=${NEW:-build/bench}
OUT=$(dirname "$0")
TA=64x256x64:tA,64x256x256:tA,256x256x256:tA,256x256x64:tA,200x256x200:tA,64x2048x64:tA,768x256x3072:tA
THIN=256x256x64,512x256x64,2048x64x64,64x2048x64:tA,256x256x64:tA,256x256x256
for round in a b; do
  for side in old new; do
    bin=$OLD; [ $side = new ] && bin=$NEW
    $bin/gemm --threads 1 --no-reference --sizes "" --shapes $TA --samples 9 > $OUT/gemm_tA_1thread_${side}_$round.txt 2>&1
    OMP_WAIT_POLICY=PASSIVE $bin/gemm --threads 2 --no-reference --sizes "" --shapes $THIN --samples 9 \
      > $OUT/gemm_thin_2thread_passive_${side}_$round.txt 2>&1
    $bin/gemm --threads 2 --no-reference --sizes "" --shapes $THIN --samples 9 \
      > $OUT/gemm_thin_2thread_default_${side}_$round.txt 2>&1
    $bin/models --threads 1 --no-reference --cases gpt_train,mlp_train,ppo_update --samples 7 \
      > $OUT/models_1thread_${side}_$round.txt 2>&1
    OMP_WAIT_POLICY=PASSIVE $bin/models --threads 2 --no-reference --cases gpt_train,mlp_train,ppo_update --samples 7 \
      > $OUT/models_2thread_passive_${side}_$round.txt 2>&1
    OMP_WAIT_POLICY=PASSIVE $bin/rl_throughput --threads 2 --no-reference --runs 1 \
      > $OUT/rl_throughput_2thread_passive_${side}_$round.txt 2>&1
    $bin/rl_throughput --threads 1 --no-reference --runs 1 --cases sac,td3 \
      > $OUT/rl_throughput_1thread_${side}_$round.txt 2>&1
  done
done
