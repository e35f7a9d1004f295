#!/bin/bash
# Alternates bench/models' GPT cases built before add_layer_norm
# (/tmp/models_base) and after it (/tmp/models_new), 1 thread, gradlab's side
# only; then one run of the new build with PyTorch in the same run; then the
# paired change per case. The two builds, from the repository root:
#   git worktree add /tmp/wt_base dfedc98 && make -C /tmp/wt_base -j2 CUDA=0 build/bench/models
#   cp /tmp/wt_base/build/bench/models /tmp/models_base
#   make -j2 CUDA=0 build/bench/models && cp build/bench/models /tmp/models_new
#   bench/results/add_layer_norm/ab.sh | tee bench/results/add_layer_norm/ab.txt
# `ab.sh --summary ab.txt` prints the paired figures of a recorded log only.
set -e
summary() {  # the mean change new/base - 1 over the rounds, with its paired 95% interval (t, n - 1 df)
  awk '
    /^== base round/ { side = "base" } /^== new round/ { side = "new" } /^== new, with/ { side = "" }
    side != "" && /^gpt_/ { v[$1, side, ++k[$1, side]] = $2; cases[$1] = 1 }
    END {
      split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262", t, " ")
      for (c in cases) {
        n = k[c, "new"]; s = 0; ss = 0
        for (i = 1; i <= n; ++i) { d[i] = v[c, "new", i] / v[c, "base", i] - 1; s += d[i] }
        m = s / n
        for (i = 1; i <= n; ++i) ss += (d[i] - m) ^ 2
        h = t[n - 1] * sqrt(ss / (n - 1)) / sqrt(n)
        printf "%s: %+.1f%% over %d rounds, paired 95%% interval %+.1f%% to %+.1f%%\n", c, 100 * m, n, 100 * (m - h), 100 * (m + h)
      }
    }' "$1" | sort
}
if [ "${1:-}" = --summary ]; then
  summary "$2"
  exit
fi
log=$(mktemp)
{
  for round in 1 2 3 4 5; do
    for b in base new; do
      echo "== $b round $round"
      /tmp/models_$b --cases gpt_infer,gpt_train --threads 1 --no-reference | grep -E "^gpt_"
    done
  done
  echo "== new, with the PyTorch reference"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/models_new --cases gpt_infer,gpt_train,gpt_generate_b1,gpt_generate_b32 --threads 1 | grep -E "^gpt_|^case"
} | tee "$log"
echo "== paired change, after / before"
summary "$log"
rm -f "$log"
