# Before (2eedbc8) and after (this stop) bench binaries in one run, 1 thread, no references.
set -u
for v in after before after before; do
  b=/tmp/${v}_bench
  echo "### $v"
  $b/gemm --no-reference --sizes 1024 --shapes 2048x128x384 --samples 3
  $b/elementwise --no-reference --samples 3 --n 4194304
  $b/autograd_overhead --no-reference --samples 5
  $b/models --no-reference --samples 2 --cases gpt_train,gpt_infer,mlp_train,ppo_update
done
