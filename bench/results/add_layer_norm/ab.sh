#!/bin/bash
# Alternates bench/models' GPT cases built before add_layer_norm
# (/tmp/models_base) and after it (/tmp/models_new), 1 thread, gradlab's side
# only; then one run of the new build with PyTorch in the same run.
set -e
for round in 1 2 3 4 5; do
  for b in base new; do
    echo "== $b round $round"
    /tmp/models_$b --cases gpt_infer,gpt_train --threads 1 --no-reference | grep -E "^gpt_"
  done
done
echo "== new, with the PyTorch reference"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/models_new --cases gpt_infer,gpt_train,gpt_generate_b1,gpt_generate_b32 --threads 1 | grep -E "^gpt_|^case"
