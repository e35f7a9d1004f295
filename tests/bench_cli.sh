#!/usr/bin/env bash
# The command-line contract of every bench and experiment binary, checked on
# the built binaries: --help prints the usage (with the flags every binary
# takes) and exits 0; an unknown flag, a flag without its value and a value
# that does not parse each exit 2 with a message that names the flag, then one
# line of usage. Thread counts are bounded and integers may not overflow. No
# binary does any work for these: each call stops at its flags. Past the
# common flags, train_gpt's own: a zero --log-every, a NaN learning rate, and
# a diverging one (the run stops at the first non-finite loss).
#   tests/bench_cli.sh build/bench/gemm build/bench/ppo ...
set -uo pipefail
passed=0 failed=0

check() {  # check WHAT CONDITION...: one counted expectation
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what"
  fi
}

# run BIN ARGS...: sets $out (stdout and stderr) and $rc, within 20 seconds.
run() {
  out=$(timeout 20 "$@" 2>&1 </dev/null)
  rc=$?
}

experiments=$(grep -v '^#' "$(dirname "$0")/../bench/EXPERIMENTS" 2>/dev/null)
for bin in "$@"; do
  name=$(basename "$bin")

  run "$bin" --help
  check "$name --help exits 0 (got $rc)" test "$rc" = 0
  check "$name --help prints 'usage: $name'" grep -q "^usage: $name" <<<"$out"
  for flag in --threads --seed --jsonl --smoke; do
    check "$name --help lists $flag" grep -q -- "^  $flag " <<<"$out"
  done
  if grep -qx "$name" <<<"$experiments"; then
    for flag in --quick --out --device; do
      check "$name --help lists $flag (an experiment)" grep -q -- "^  $flag " <<<"$out"
    done
  fi
  # Every binary takes --device but those about one device by design: the CPU
  # against its own references (gpt2_cpu, the ladders), environments only
  # (make_dataset), the ranks' backend (allreduce), the GPU (gpu).
  case "$name" in
    gpt2_cpu | ladder_* | make_dataset | allreduce | gpu) ;;
    *) check "$name --help lists --device" grep -q -- "^  --device " <<<"$out" ;;
  esac
  # Every binary that takes --device refuses a device it cannot use, before any work.
  if grep -q -- "^  --device " <<<"$out"; then
    run "$bin" --device gpu
    check "$name --device gpu exits 2 (got $rc)" test "$rc" = 2
    check "$name --device gpu names the flag and the choices" grep -q -- "--device: unknown device 'gpu' (cpu, cuda or ref)" <<<"$out"
    if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
      run "$bin" --device cuda
      check "$name --device cuda without a GPU exits 2 (got $rc)" test "$rc" = 2
      check "$name --device cuda without a GPU says why" grep -q -- "--device cuda: CUDA tensors need a CUDA build\|--device cuda: cuda tensor requested, but no GPU" <<<"$out"
    fi
  fi

  run "$bin" --no-such-flag
  check "$name --no-such-flag exits 2 (got $rc)" test "$rc" = 2
  check "$name --no-such-flag names the flag" grep -q -- "unknown option '--no-such-flag'" <<<"$out"
  check "$name --no-such-flag prints the usage line" grep -q "^usage: $name" <<<"$out"
  check "$name --no-such-flag says it in two lines, not the whole help" test "$(wc -l <<<"$out")" -le 2

  run "$bin" --seed
  check "$name --seed (no value) exits 2 (got $rc)" test "$rc" = 2
  check "$name --seed (no value) says it needs a value" grep -q -- "--seed needs a value" <<<"$out"

  run "$bin" --threads two
  check "$name --threads two exits 2 (got $rc)" test "$rc" = 2
  check "$name --threads two names the flag and value" grep -q -- "--threads expects an integer, got 'two'" <<<"$out"

  # Thread counts OpenMP cannot start, and integers past int64.
  for value in 0 -4 100000 4294967297; do
    run "$bin" --threads "$value"
    check "$name --threads $value exits 2 (got $rc)" test "$rc" = 2
    check "$name --threads $value names the bounds" grep -q -- "--threads must be from 1 to 1024, got $value" <<<"$out"
  done
  # An output that cannot be written stops the binary before the work.
  run "$bin" --jsonl /etc/passwd/out.jsonl
  check "$name --jsonl UNWRITABLE exits 2 (got $rc)" test "$rc" = 2
  check "$name --jsonl UNWRITABLE names the file" grep -q -- "--jsonl: cannot write '/etc/passwd/out.jsonl'" <<<"$out"

  run "$bin" --seed 99999999999999999999
  check "$name --seed 99999999999999999999 exits 2 (got $rc)" test "$rc" = 2
  check "$name --seed 99999999999999999999 says out of range" grep -q -- "--seed: 99999999999999999999 is out of range" <<<"$out"
done

# Binary-specific contracts.
bench_dir=$(dirname "$1")
# Zero and negative counts are refused at the flags, with the bounds named.
while read -r name flag value; do
  [ -x "$bench_dir/$name" ] || continue
  run "$bench_dir/$name" "$flag" "$value"
  check "$name $flag $value exits 2 (got $rc)" test "$rc" = 2
  check "$name $flag $value names the flag and its bounds" grep -q -- "$flag must be \(from\|at least\)" <<<"$out"
done <<'EOF_COUNTS'
ppo --num-envs 0
ppo --update-epochs -1
sac --batch-size 0
td3 --buffer-size -5
gemm --samples 0
elementwise --n 0
autograd_overhead --ops -3
make_dataset --transitions 0
osp --prompts 0
osp --k 1
up_rlhf --members 0
exploration --ti-snapshots 0
align_baselines --rm-pairs -1
ladder_gemm --samples 0
ladder_layernorm --rows 0
ladder_attention --tokens -1
EOF_COUNTS
# A boolean switch: --name, --no-name, or --name with 1/0, true/false, yes/no, on/off.
if [ -x "$bench_dir/ppo" ]; then
  run "$bench_dir/ppo" --anneal-lr 2
  check "ppo --anneal-lr 2 exits 2 (got $rc)" test "$rc" = 2
  check "ppo --anneal-lr 2 says what a switch takes" grep -q -- "--anneal-lr is on or off (1/0, true/false" <<<"$out"
  run "$bench_dir/ppo" --help
  check "ppo --help shows --anneal-lr, --no-anneal-lr" grep -q -- "--anneal-lr, --no-anneal-lr" <<<"$out"
fi
if [ -x "$bench_dir/train_gpt" ]; then
  run "$bench_dir/train_gpt" --smoke --log-every 0
  check "train_gpt --log-every 0 exits 2 (got $rc)" test "$rc" = 2
  check "train_gpt --log-every 0 names the flag" grep -q -- "--log-every must be at least 1, got 0" <<<"$out"
  run "$bench_dir/train_gpt" --smoke --lr nan
  check "train_gpt --lr nan exits 2 (got $rc)" test "$rc" = 2
  check "train_gpt --lr nan names the flag" grep -q -- "--lr expects a finite number, got 'nan'" <<<"$out"
  # A learning rate that diverges: the run stops at the first non-finite loss
  # with one line, and writes no checkpoint.
  ckpt=$(mktemp -u /tmp/gradlab-cli-XXXXXX.safetensors)
  run "$bench_dir/train_gpt" --smoke --lr 1e300 --out "$ckpt"
  check "train_gpt --lr 1e300 exits 1 (got $rc)" test "$rc" = 1
  check "train_gpt --lr 1e300 stops at the non-finite loss" grep -q "train_gpt: the loss is .* at step" <<<"$out"
  check "train_gpt --lr 1e300 writes no checkpoint" test ! -e "$ckpt"
  rm -f "$ckpt"
  # A named pipe as the checkpoint is refused at once, not waited on.
  fifo=$(mktemp -u /tmp/gradlab-cli-XXXXXX.fifo)
  mkfifo "$fifo"
  run "$bench_dir/train_gpt" --load "$fifo"
  check "train_gpt --load FIFO exits 1 (got $rc)" test "$rc" = 1
  check "train_gpt --load FIFO says it is not a regular file" grep -q "not a regular file" <<<"$out"
  rm -f "$fifo"
  # A checkpoint whose metadata claims a bigger model than its tensors: named before anything is allocated.
  run "$bench_dir/train_gpt" --smoke --out "$ckpt"
  if [ "$rc" = 0 ] && command -v python3 >/dev/null; then
    python3 - "$ckpt" <<'PY'
import sys
p = sys.argv[1]
b = open(p, "rb").read()
assert b.count(b'"gpt.layers":"1"') == 1
open(p, "wb").write(b.replace(b'"gpt.layers":"1"', b'"gpt.layers":"9"'))
PY
    run "$bench_dir/train_gpt" --load "$ckpt"
    check "train_gpt --load with gpt.layers 9 over 1 block exits 1 (got $rc)" test "$rc" = 1
    check "train_gpt --load names the metadata mismatch" grep -q "the metadata says .* layers 9, but the tensors have .* 1 blocks" <<<"$out"
  fi
  rm -f "$ckpt"
  # --smoke sets small sizes only for the flags not given.
  run "$bench_dir/train_gpt" --smoke --steps 4
  check "train_gpt --smoke --steps 4 runs 4 steps (got rc $rc)" grep -q "4 steps of" <<<"$out"
  # A text just long enough for --context trains and samples; one byte under is refused with the sizes named.
  short=$(mktemp /tmp/gradlab-cli-XXXXXX.txt)
  printf '%0.s0123456789' $(seq 1 18) > "$short"   # 180 bytes, no newline
  run "$bench_dir/train_gpt" --smoke --text "$short" --context 16
  check "train_gpt on a 180-byte text with --context 16 runs (got rc $rc)" test "$rc" = 0
  head -c 170 "$short" > "$short.cut" && mv "$short.cut" "$short"
  run "$bench_dir/train_gpt" --smoke --text "$short" --context 16
  check "train_gpt on a 170-byte text with --context 16 exits 1 (got $rc)" test "$rc" = 1
  check "train_gpt on a too-short text says how long it must be" grep -q "too short for --context 16" <<<"$out"
  rm -f "$short"
  # The checkpoint may not overwrite the training text.
  txt=$(mktemp /tmp/gradlab-cli-XXXXXX.txt)
  head -c 4000 /usr/share/common-licenses/GPL-3 > "$txt" 2>/dev/null || printf '%4000s' x > "$txt"
  before=$(md5sum < "$txt")
  run "$bench_dir/train_gpt" --smoke --text "$txt" --out "$txt"
  check "train_gpt --text X --out X exits 1 (got $rc)" test "$rc" = 1
  check "train_gpt --text X --out X says why" grep -q "is the training text" <<<"$out"
  check "train_gpt --text X --out X leaves the text alone" test "$(md5sum < "$txt")" = "$before"
  rm -f "$txt"
fi

echo "bench-cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
