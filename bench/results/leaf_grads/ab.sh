#!/bin/bash
# Alternates the GPT-2 step of the build before the change (/tmp/gpt2_base)
# and after it (/tmp/gpt2_new), 1 and 2 threads, sleeping threads; prints
# each run's table row and peak resident memory.
set -e
for t in 1 2; do
  for round in 1 2 3 4 5 6; do
    for b in base new; do
      OMP_WAIT_POLICY=PASSIVE /usr/bin/time -f "maxrss %M KB" /tmp/gpt2_$b --threads $t --steps 4 --warmup 1 \
        > /tmp/ab_out.txt 2> /tmp/ab_err.txt
      echo "$b t$t r$round $(grep -E "^$t " /tmp/ab_out.txt) $(cat /tmp/ab_err.txt)"
    done
  done
done
