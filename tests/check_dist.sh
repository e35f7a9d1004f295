#!/usr/bin/env bash
# The 2-process check of dist/ in `make test`: tests/dist_ranks.cpp under
# mpirun -np 2 (every collective, DataParallel against one process with the
# global batch, the sampler), then two failure scenarios that must end the job
# within a time limit with a message naming the rank: one rank throws, and
# one rank stalls past GRADLAB_DIST_TIMEOUT. Skipped, saying so, in a build
# without MPI.
#   tests/check_dist.sh build/tests/dist_ranks
set -uo pipefail
bin=${1:?usage: tests/check_dist.sh BUILD/tests/dist_ranks}
if ! "$bin" --list-test-cases >/dev/null 2>&1 || ! command -v mpirun >/dev/null; then
  echo "check_dist: $bin or mpirun is missing"; exit 1
fi
if [ "$(cat "$bin.mpi" 2>/dev/null)" != 1 ]; then
  echo "check_dist: skipped: this build has no MPI backend (install libopenmpi-dev and openmpi-bin: make deps)"
  exit 0
fi
mpirun_flags=(-np 2 --oversubscribe)
[ "$(id -u)" = 0 ] && mpirun_flags+=(--allow-run-as-root)
# Two ranks on a small machine: one OpenMP thread each.
export OMP_NUM_THREADS=1
failed=0

echo "== mpirun -np 2 $bin"
if ! timeout 600 mpirun "${mpirun_flags[@]}" "$bin" --no-intro; then
  echo "FAIL: the 2-rank suite"; failed=1
fi

scenario() {  # scenario NAME EXPECTED-TEXT [ENV=VALUE...]
  local name=$1 expect=$2 out rc start
  shift 2
  echo "== scenario: $name"
  start=$(date +%s)
  out=$(env "$@" timeout 120 mpirun "${mpirun_flags[@]}" "$bin" --no-intro --no-skip --test-case="scenario: $name" 2>&1)
  rc=$?
  echo "$out" | grep -v '^ *$' | head -20
  if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
    echo "FAIL: scenario '$name' ended with exit $rc (expected a failed job, not success or a hang)"; failed=1
  elif ! grep -qF "$expect" <<<"$out"; then
    echo "FAIL: scenario '$name': the output does not say '$expect'"; failed=1
  else
    echo "ok: the job stopped in $(($(date +%s) - start)) s with exit $rc and the message"
  fi
}
scenario "rank 1 throws" "[gradlab rank 1 of 2] deliberate failure on rank 1"
scenario "rank 1 stalls past the timeout" "rank 0 of 2 waited 3 s for the other ranks" GRADLAB_DIST_TIMEOUT=3
[ "$failed" = 0 ] && echo "check_dist: passed"
[ "$failed" = 0 ]
