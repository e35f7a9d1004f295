"""Timing shared by the reference scripts, with the same procedure as
bench/common/bench.cpp: warm-up calls, then samples that each repeat the call
for at least min_seconds; min / median / max seconds per call."""
import json
import time


def time_it(fn, samples, min_seconds, warmup=2):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-9)
    calls = max(1, int(min_seconds / one))
    per_call = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter() - start) / calls)
    per_call.sort()
    n = len(per_call)
    median = per_call[n // 2] if n % 2 else 0.5 * (per_call[n // 2 - 1] + per_call[n // 2])
    return per_call[0], median, per_call[-1]


def emit(case, label, timing):
    """One result line, as the C++ side (run_reference) reads it."""
    lo, med, hi = timing
    print(json.dumps({"case": case, "label": label, "min": lo, "median": med, "max": hi}), flush=True)
