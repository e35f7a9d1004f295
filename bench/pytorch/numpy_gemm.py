"""GEMM reference for build/bench/gemm: times numpy's a @ b (OpenBLAS when
Debian's libopenblas0 is the active BLAS) on the same cases, with the same
timing procedure (warm-up, samples of at least --min-sample-seconds, min /
median / max per call). One JSON line per case on stdout.

  python3 numpy_gemm.py --cases 1024x1024x1024,2048x128x384:tA --samples 7
A case is MxKxN ([M, K] @ [K, N]); ":tA" / ":tB" read that operand transposed."""
import argparse

import numpy as np

from timing import emit, time_it


def blas_name():
    """The BLAS library numpy has actually loaded, from this process's maps."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line or "lapack" in line}
    if any("openblas" in lib for lib in libs):
        return "openblas"
    if any("mkl" in lib for lib in libs):
        return "mkl"
    return "reference-blas" if libs else "unknown"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cases", required=True)
    p.add_argument("--samples", type=int, default=7)
    p.add_argument("--min-sample-seconds", type=float, default=0.02)
    p.add_argument("--dtype", default="f32")
    args = p.parse_args()
    dtype = np.float32 if args.dtype == "f32" else np.float64
    rng = np.random.default_rng(0)
    blas = blas_name()
    for case in args.cases.split(","):
        dims, *flags = case.split(":")
        m, k, n = (int(v) for v in dims.split("x"))
        a = rng.standard_normal((k, m) if "tA" in flags else (m, k)).astype(dtype)
        b = rng.standard_normal((n, k) if "tB" in flags else (k, n)).astype(dtype)
        a_op = a.T if "tA" in flags else a
        b_op = b.T if "tB" in flags else b
        emit(case, "numpy-" + blas, time_it(lambda: a_op @ b_op, args.samples, args.min_sample_seconds))


if __name__ == "__main__":
    main()
