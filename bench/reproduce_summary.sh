#!/bin/sh
# The summary table that ends `make reproduce`: one line per claim of every
# experiment, read from DIR/NAME/claims.tsv (written by bench/common/experiment.cpp),
# with what was measured and whether the paper's claim reproduced.
#   bench/reproduce_summary.sh DIR NAME...
# Exits 1 when an experiment left no claims file (that is a breakage, not a finding).
dir=$1; shift
status=0
printf '\n== make reproduce: summary (quick budget) ==\n'
printf '%-16s %-15s %s\n' experiment verdict claim
printf '%-16s %-15s %s\n' ---------- ------- -----
yes=0; no=0; open=0
for name in "$@"; do
  f="$dir/$name/claims.tsv"
  if [ ! -f "$f" ]; then
    printf '%-16s %-15s %s\n' "$name" MISSING "no claims file at $f"
    status=1; continue
  fi
  # Columns: experiment, claim, result, reproduced (yes/no), budget, verdict ("-": a threshold claim,
  # judged yes/no; otherwise the paired-interval verdict).
  while IFS="$(printf '\t')" read -r exp claim result reproduced budget verdict; do
    [ "$exp" = experiment ] && continue
    case "$verdict" in
      ''|-) if [ "$reproduced" = yes ]; then verdict="yes"; else verdict="no"; fi ;;
    esac
    printf '%-16s %-15s %s\n' "$exp" "$verdict" "$claim"
    printf '%-16s %-15s   measured: %s\n' "" "" "$result"
    if [ "$verdict" = "not established" ]; then open=$((open + 1))
    elif [ "$reproduced" = yes ]; then yes=$((yes + 1)); else no=$((no + 1)); fi
  done < "$f"
done
printf '\n%d claims reproduced, %d not established, %d not reproduced (at the quick budget; full-budget figures: bench/results/ and README.md)\n' "$yes" "$open" "$no"
exit $status
