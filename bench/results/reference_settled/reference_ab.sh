#!/usr/bin/env bash
# A PyTorch reference alone, with settle_allocator (bench/pytorch/timing.py)
# and with it replaced by a no-op, alternated three times, in the environment
# run_reference gives it; prints calls (or steps) per second per case.
#   bench/results/reference_settled/reference_ab.sh models.py --threads 1 --cases gpt_train,gpt_infer
#   bench/results/reference_settled/reference_ab.sh models.py --threads 1 --cases mlp_train,ppo_update
#   bench/results/reference_settled/reference_ab.sh rl_throughput.py --threads 1
cd "$(dirname "$0")/../../pytorch" || exit 1
script=$1
shift
args=$(printf "'%s', " "$@")
E="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE"
for r in 1 2 3; do
  for w in 0 1; do
    echo -n "settled=$w: "
    $E /usr/bin/python3 -c "
import sys, timing
if not $w: timing.settle_allocator = lambda: None
sys.argv = ['$script', $args]
exec(open('$script').read())
" 2>&1 | python3 -c "
import sys, json
for l in sys.stdin:
    d = json.loads(l); print(d['case'], round(1 / d['median'], 1), end='  ')"
    echo
  done
done
