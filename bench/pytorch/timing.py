"""Timing shared by the reference scripts, with the same procedure as
bench/common/bench.cpp: warm-up calls, then samples that each repeat the call
for at least min_seconds; min / median / max seconds per call. Each result
line also names the BLAS kernel that ran (OpenBLAS picks one per CPU, and
OPENBLAS_CORETYPE overrides its choice), so a ratio can be read against it."""
import ctypes
import json
import time


def settle_allocator():
    """Times PyTorch without malloc's page faults. A fresh process serves every
    block above 128 KiB from mmap and gives it back on free, so each step of a
    small training loop page-faults its activations again (2-2.5x slower here
    for the models reference's PPO update and MLP). glibc raises that
    threshold, and its heap-trim point, only to the largest mapped block freed
    so far (at most 32 MiB), so even a long-running process may keep faulting.
    Freeing one 16 MiB block before anything is timed removes the faults,
    whichever cases run: the stronger reference to measure gradlab against.
    The elementwise reference does not call this: its 64 MiB results stay
    above any threshold."""
    block = bytearray(16 << 20)
    del block


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


def blas_kernel():
    """The kernel of the OpenBLAS this process has loaded, as OpenBLAS names it
    ("openblas-SkylakeX", "openblas-Haswell", "openblas-Zen"), "" without one.
    Call it after the BLAS has been used, so that the library is loaded."""
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "openblas" in line and ".so" in line})
    for lib in libs:
        try:
            corename = ctypes.CDLL(lib).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return "openblas-" + corename().decode()
    return ""


def emit(case, label, timing):
    """One result line, as the C++ side (run_reference) reads it."""
    lo, med, hi = timing
    line = {"case": case, "label": label, "min": lo, "median": med, "max": hi, "blas": blas_kernel()}
    print(json.dumps(line), flush=True)
