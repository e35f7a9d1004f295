#!/bin/sh
# The summary table that ends `make reproduce`: one line per claim of every
# experiment, read from DIR/NAME/claims.tsv (written by bench/common/experiment.cpp),
# with what was measured and whether the paper's claim reproduced.
#   bench/reproduce_summary.sh DIR NAME...
# Exits 1 when an experiment left no claims file (that is a breakage, not a finding).
dir=$1; shift
status=0
printf '\n== make reproduce: summary (quick budget) ==\n'
printf '%-16s %-11s %s\n' experiment reproduced claim
printf '%-16s %-11s %s\n' ---------- ---------- -----
yes=0; no=0
for name in "$@"; do
  f="$dir/$name/claims.tsv"
  if [ ! -f "$f" ]; then
    printf '%-16s %-11s %s\n' "$name" MISSING "no claims file at $f"
    status=1; continue
  fi
  while IFS="$(printf '\t')" read -r exp claim result reproduced budget; do
    [ "$exp" = experiment ] && continue
    printf '%-16s %-11s %s\n' "$exp" "$reproduced" "$claim"
    printf '%-16s %-11s   measured: %s\n' "" "" "$result"
    if [ "$reproduced" = yes ]; then yes=$((yes + 1)); else no=$((no + 1)); fi
  done < "$f"
done
printf '\n%d claims reproduced, %d not (at the quick budget; full-budget figures: bench/results/ and README.md)\n' "$yes" "$no"
exit $status
