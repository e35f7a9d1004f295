#!/usr/bin/env bash
# The examples' check of `make test`: each program in examples/ runs on a tiny
# budget and must exit 0 (their default budgets are for a reader's own run).
#   tests/run_examples.sh build/examples
set -uo pipefail
dir=${1:?usage: tests/run_examples.sh BUILD/examples}
text=$(dirname "$0")/../README.md  # any text of a few kB will do for the GPT
passed=0 failed=0
run() {  # run NAME ARGS...
  local name=$1
  shift
  if "$dir/$name" "$@" >"$dir/$name.out" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name $* (exit $?)"
    tail -n 20 "$dir/$name.out"
  fi
}
run mlp_regression 200
run char_gpt "$text" 20
run ppo_cartpole 2
echo "examples: $passed passed, $failed failed"
[ "$failed" = 0 ]
