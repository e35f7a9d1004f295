#!/usr/bin/env bash
# One command for a machine with a GPU: builds gradlab with CUDA, runs the CUDA
# parity tests (tests/cuda), compute-sanitizer (memcheck over the flash
# attention, precision and CUDA graph tests; racecheck over the flash kernels'
# shared memory), and the GPU benchmarks (build/bench/gpu, against cuBLAS, the
# device's copy bandwidth, the reference attention kernels, eager execution
# and PyTorch on the same GPU), and prints a summary. Sized for under 10
# minutes on one H100 or H200 (16 cores); each stage has its own timeout.
#   bench/gpu_check.sh                 # outputs in bench/results/gpu/
#   CUDA_ARCHS="80 90" bench/gpu_check.sh   # default: the present GPU's architecture only
#   GPU_CHECK_QUICK=1 bench/gpu_check.sh    # skip the GPT-2-small-shaped benchmark
#   GPU_CHECK_ALGORITHMS=0 bench/gpu_check.sh   # skip the algorithms stage (below)
# The algorithms stage (after the benchmarks) builds the whole library with
# CUDA, runs every suite's device test cases (each algorithm against the CPU,
# on cuda), each experiment's --smoke run with --device cuda, and
# build/bench/gpu_algorithms: PPO CartPole and SAC Pendulum steps/s and the
# reward model, DPO and UP-RLHF experiments' wall time, on the GPU against the
# CPU (records in $OUT/gpu.jsonl; the rest in $OUT/algorithms/).
#   GPU_CHECK_PREBUILT=1 BUILD=build-gpu bench/gpu_check.sh
#       # use $BUILD/tests/cuda and $BUILD/bench/gpu as they are (built elsewhere
#       # with the same CUDA major version, e.g. ARCH=x86-64-v3 CUDA_ARCHS=90)
# The PyTorch reference runs under $GRADLAB_PYTHON (default: the python3 on PATH).
#   GPU_CHECK_REHEARSAL=1 bench/gpu_check.sh
#       # a machine without a GPU (nvcc needed): every stage as above, but the CUDA
#       # tests and bench/gpu skip, compute-sanitizer is left out, and the
#       # experiments and gpu_algorithms run on ref; outputs in $BUILD/rehearsal.
#       # It checks this script before a GPU's time is spent on it, not the GPU.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
start=$(date +%s)
REHEARSAL=${GPU_CHECK_REHEARSAL:-0}
BUILD=${BUILD:-build-gpu}
if [ "$REHEARSAL" = 1 ]; then
  OUT=${OUT_DIR:-$BUILD/rehearsal}  # never over the recorded figures
  GPU_CHECK_DEVICE=${GPU_CHECK_DEVICE:-ref}
  # ref's plain loops, four experiments at a time: up_rlhf's smoke took 121 s of 120 on 2 cores.
  GPU_CHECK_SMOKE_TIMEOUT=${GPU_CHECK_SMOKE_TIMEOUT:-600}
else
  OUT=${OUT_DIR:-bench/results/gpu}
fi
mkdir -p "$OUT"
log() { echo "== $*"; }

if [ "$REHEARSAL" = 1 ]; then
  echo "rehearsal without a GPU (GPU_CHECK_REHEARSAL=1); nothing here is a GPU figure" | tee "$OUT/device.txt"
  CUDA_ARCHS=${CUDA_ARCHS:-80}
elif ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no GPU visible (nvidia-smi); nothing to do (GPU_CHECK_REHEARSAL=1 checks the script without one)"
  exit 1
else
  nvidia-smi -L | tee "$OUT/device.txt"
fi
if [ -z "${CUDA_ARCHS:-}" ]; then
  CUDA_ARCHS=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')
fi
export GRADLAB_PYTHON=${GRADLAB_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
if [ "${GPU_CHECK_PREBUILT:-0}" = 1 ]; then
  log "prebuilt binaries in $BUILD (no build)"
  for b in "$BUILD/tests/cuda" "$BUILD/bench/gpu"; do
    [ -x "$b" ] || { echo "gpu_check: GPU_CHECK_PREBUILT=1 but $b is missing"; exit 1; }
    if ldd "$b" | grep -q "not found"; then
      ldd "$b" | grep "not found"
      echo "gpu_check: $b misses shared libraries (set LD_LIBRARY_PATH, or build here)"
      exit 1
    fi
  done
  echo "prebuilt" >"$OUT/build.log"
else
log "build ($BUILD, CUDA_ARCHS=$CUDA_ARCHS, $(nproc) jobs)"
# Only the library folders the CUDA backend needs (other folders may hold work in progress).
if ! make -j"$(nproc)" BUILD="$BUILD" CUDA=1 CUDA_ARCHS="$CUDA_ARCHS" \
    LIB_DIRS="tensor tensor/cpu tensor/ref autograd nn optim" "$BUILD/tests/cuda" "$BUILD/bench/gpu" >"$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log"
  echo "gpu_check: BUILD FAILED (full log in $OUT/build.log)"
  exit 1
fi
fi
build_s=$(( $(date +%s) - start ))

log "CUDA parity tests"
t0=$(date +%s)
# Synchronise after every kernel so that a fault names the kernel that caused it.
GRADLAB_CUDA_SYNC=1 timeout "${GPU_CHECK_TEST_TIMEOUT:-180}" "$BUILD/tests/cuda" --no-intro 2>&1 | tee "$OUT/tests.txt"
test_rc=${PIPESTATUS[0]}
tests_s=$(( $(date +%s) - t0 ))

log "compute-sanitizer (flash attention, precision, CUDA graphs)"
t0=$(date +%s)
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
san_rc=0
if [ "$REHEARSAL" = 1 ]; then
  echo "rehearsal: compute-sanitizer left out (no GPU)" | tee "$OUT/memcheck_flash.txt" >"$OUT/racecheck_flash.txt"
elif [ -x "$SANITIZER" ]; then
  timeout "${GPU_CHECK_SANITIZER_TIMEOUT:-150}" "$SANITIZER" --tool memcheck --error-exitcode 3 \
    "$BUILD/tests/cuda" --no-intro -tc="*flash*,*recorded*,*replays*,*captur*,*bf16 GEMM*" 2>&1 | tail -30 >"$OUT/memcheck_flash.txt"
  san_rc=${PIPESTATUS[0]}
  # Shared-memory races between the warps of a tile (the bf16 case runs every block_mm path's syncs).
  GRADLAB_TEST_QUICK=1 timeout "${GPU_CHECK_RACECHECK_TIMEOUT:-120}" "$SANITIZER" --tool racecheck --error-exitcode 3 \
    "$BUILD/tests/cuda" --no-intro -tc="*flash attention on bf16*,*flash attention (f32*" 2>&1 | tail -30 >"$OUT/racecheck_flash.txt"
  race_rc=${PIPESTATUS[0]}
  [ "$san_rc" = 0 ] && san_rc=$race_rc
else
  echo "compute-sanitizer not found" | tee "$OUT/memcheck_flash.txt"
  san_rc=1
fi
san_s=$(( $(date +%s) - t0 ))

log "GPU benchmarks"
t0=$(date +%s)
rm -f "$OUT/gpu.jsonl"
cases="gemm_cublas,gemm_tiled,elementwise_add,attention_fwd,attention_bwd,mlp_train_small_graph"
cases="$cases,gpt_train_small,gpt_train_small_graph,gpt_train_gpt2s,gpt_train_gpt2s_tf32,gpt_train_gpt2s_bf16,gpt_train_gpt2s_amp"
[ "${GPU_CHECK_QUICK:-0}" = 1 ] && cases="gemm_cublas,gemm_tiled,elementwise_add,attention_fwd,attention_bwd,mlp_train_small_graph,gpt_train_small,gpt_train_small_graph"
timeout "${GPU_CHECK_BENCH_TIMEOUT:-330}" "$BUILD/bench/gpu" --cases "$cases" --jsonl "$OUT/gpu.jsonl" 2>&1 | tee "$OUT/bench.txt"
bench_rc=${PIPESTATUS[0]}
bench_s=$(( $(date +%s) - t0 ))
echo "build/bench/gpu --cases $cases --jsonl $OUT/gpu.jsonl (after bench/gpu_check.sh's build)" >"$OUT/COMMAND"

alg_rc=0
alg_summary="skipped (GPU_CHECK_ALGORITHMS=0)"
if [ "${GPU_CHECK_ALGORITHMS:-1}" = 1 ] && [ "${GPU_CHECK_PREBUILT:-0}" != 1 ]; then
  log "algorithms on the GPU (device tests, experiments' --smoke --device cuda, gpu_algorithms)"
  t0=$(date +%s)
  ALG="$OUT/algorithms"
  mkdir -p "$ALG"
  rm -f "$ALG/tests_summary.txt" "$ALG/smoke_summary.txt"  # appended to below: no lines from an earlier run
  suites="optim nn rl curiosity offline alignment influence"
  experiments=$(grep -v '^#' bench/EXPERIMENTS)
  targets=""
  for s in $suites; do targets="$targets $BUILD/tests/$s"; done
  for e in $experiments gpu_algorithms; do targets="$targets $BUILD/bench/$e"; done
  if make -j"$(nproc)" BUILD="$BUILD" CUDA=1 CUDA_ARCHS="$CUDA_ARCHS" $targets >"$ALG/build.log" 2>&1; then
    # Each suite's device cases: every algorithm on cuda against the CPU (tests/devices_to_test.h).
    for s in $suites; do
      timeout "${GPU_CHECK_SUITE_TIMEOUT:-120}" "$BUILD/tests/$s" --no-intro -tc="*device*" >"$ALG/tests_$s.txt" 2>&1
      rc=$?
      echo "$s exit $rc: $(grep -E '^\[doctest\] test cases' "$ALG/tests_$s.txt")" >>"$ALG/tests_summary.txt"
      [ "$rc" = 0 ] || alg_rc=1
    done
    # Every experiment end to end on the GPU, four at a time.
    printf '%s\n' $experiments | xargs -P 4 -I{} sh -c \
      'start=$(date +%s); timeout '"${GPU_CHECK_SMOKE_TIMEOUT:-120}"' '"$BUILD"'/bench/{} --smoke --device '"${GPU_CHECK_DEVICE:-cuda}"' \
         --out '"$ALG"'/smoke/{} >'"$ALG"'/smoke_{}.log 2>&1; rc=$?; \
       echo "{} exit $rc $(( $(date +%s) - start )) s" >>'"$ALG"'/smoke_summary.txt'
    grep -qv " exit 0 " "$ALG/smoke_summary.txt" && alg_rc=1
    # PPO CartPole and SAC Pendulum steps/s, and the reward model's, DPO's and UP-RLHF's experiment wall
    # time, the GPU against the CPU in one run, into gpu.jsonl beside the kernel and model cases.
    ga_args="--device ${GPU_CHECK_DEVICE:-cuda}$([ "$REHEARSAL" = 1 ] && echo " --smoke") --jsonl $OUT/gpu.jsonl"
    # shellcheck disable=SC2086 # ga_args is split into its flags on purpose
    timeout "${GPU_CHECK_GPU_ALGORITHMS_TIMEOUT:-240}" "$BUILD/bench/gpu_algorithms" $ga_args \
      >"$ALG/gpu_algorithms.txt" 2>&1 || alg_rc=1
    echo "build/bench/gpu_algorithms $ga_args (bench/gpu_check.sh's algorithms stage)" >>"$OUT/COMMAND"
    alg_summary="exit $alg_rc ($(( $(date +%s) - t0 ))s; $ALG/)"
  else
    tail -20 "$ALG/build.log"
    alg_rc=1
    alg_summary="BUILD FAILED ($ALG/build.log)"
  fi
fi

echo
echo "================ gpu_check summary ================"
echo "device:     $(head -1 "$OUT/device.txt")"
echo "build:      ok (${build_s}s, sm_${CUDA_ARCHS})"
echo "tests:      $(grep -E '^\[doctest\] (test cases|assertions)' "$OUT/tests.txt" | tr '\n' ' ') (exit $test_rc, ${tests_s}s)"
grep -E 'GPT losses cpu/cuda|GPT losses f32/tf32/bf16|specs compared' "$OUT/tests.txt" | sed 's/^/            /' | cut -c1-300
echo "sanitizer:  exit $san_rc (${san_s}s; $OUT/memcheck_flash.txt, $OUT/racecheck_flash.txt)"
grep -h -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/memcheck_flash.txt" "$OUT/racecheck_flash.txt" 2>/dev/null | sed 's/^/            /'
echo "benchmarks: exit $bench_rc (${bench_s}s); table:"
sed -n '/^case/,$p' "$OUT/bench.txt" | sed 's/^/            /'
echo "algorithms: $alg_summary"
[ -f "$OUT/algorithms/tests_summary.txt" ] && sed 's/^/            /' "$OUT/algorithms/tests_summary.txt"
[ -f "$OUT/algorithms/smoke_summary.txt" ] && sort "$OUT/algorithms/smoke_summary.txt" | sed 's/^/            /'
[ -f "$OUT/algorithms/gpu_algorithms.txt" ] && sed -n '/^case/,$p' "$OUT/algorithms/gpu_algorithms.txt" |
  sed 's/^/            /'
echo "outputs:    $OUT/ (tests.txt, bench.txt, gpu.jsonl, build.log, algorithms/)"
echo "total:      $(( $(date +%s) - start ))s"
[ "$test_rc" = 0 ] && [ "$san_rc" = 0 ] && [ "$bench_rc" = 0 ] && [ "$alg_rc" = 0 ]
