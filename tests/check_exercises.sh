#!/usr/bin/env bash
# The exercises' check of `make test` (and `make exercise-solutions`): each
# exercise's grader passes every check with the library's own code
# (solution.cpp) and fails, with a plain exit 1 and no crash, with the untouched
# blank (blank.cpp), so that every exercise can be both failed and solved.
#   tests/check_exercises.sh build/exercises gelu_backward layer_norm_backward ...
set -uo pipefail
dir=${1:?usage: tests/check_exercises.sh BUILD/exercises NAME...}
shift
[ $# -gt 0 ] || { echo "check_exercises: no exercises given"; exit 2; }
passed=0 failed=0
for name in "$@"; do
  if "$dir/$name/solution" >"$dir/$name/solution.out" 2>&1; then
    solution_ok=1
  else
    solution_ok=0
    echo "FAIL: $name: the library's own code does not pass the grader (exit $?)"
    cat "$dir/$name/solution.out"
  fi
  "$dir/$name/blank" >"$dir/$name/blank.out" 2>&1
  rc=$?
  if [ "$rc" = 1 ] && grep -q "FAIL" "$dir/$name/blank.out" && ! grep -q "PASS" "$dir/$name/blank.out"; then
    blank_ok=1
  else
    blank_ok=0
    echo "FAIL: $name: the blank should fail every check with exit 1 (exit $rc)"
    cat "$dir/$name/blank.out"
  fi
  if [ "$solution_ok$blank_ok" = 11 ]; then
    passed=$((passed + 1))
    echo "ok: $name ($(grep -c PASS "$dir/$name/solution.out") checks)"
  else
    failed=$((failed + 1))
  fi
done
echo "exercises: $passed passed, $failed failed"
[ "$failed" = 0 ]
