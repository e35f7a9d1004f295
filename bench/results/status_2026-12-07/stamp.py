# Prefixes each line of its input with CLOCK_MONOTONIC seconds (the clock
# `perf record -k CLOCK_MONOTONIC` stamps samples with), so that a perf
# report can be cut to the steps a bench prints.
import sys
import time

for line in sys.stdin:
    print(f"{time.clock_gettime(time.CLOCK_MONOTONIC):.6f} {line}", end="", flush=True)
