"""Elementwise reference for build/bench/elementwise: PyTorch's allocating
ops (a + b, a * b, exp(a), gelu(a); sigmoid, tanh, silu) on n float32 values, timed like the
gradlab side (warm-up, samples of at least --min-sample-seconds, min / median
/ max per call). One JSON line per op on stdout.

  python3 elementwise.py --n 16777216 --threads 1 --ops add,mul,exp,gelu"""
import argparse

import torch

from timing import emit, time_it


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1 << 24)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ops", default="add,mul,exp,gelu")
    p.add_argument("--samples", type=int, default=7)
    p.add_argument("--min-sample-seconds", type=float, default=0.05)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(args.n, generator=g)
    b = torch.randn(args.n, generator=g)
    ops = {
        "add": lambda: a + b,
        "mul": lambda: a * b,
        "exp": lambda: torch.exp(a),
        "gelu": lambda: torch.nn.functional.gelu(a),
        "sigmoid": lambda: torch.sigmoid(a),
        "tanh": lambda: torch.tanh(a),
        "silu": lambda: torch.nn.functional.silu(a),
    }
    for name in args.ops.split(","):
        emit(name, "pytorch-" + torch.__version__, time_it(ops[name], args.samples, args.min_sample_seconds))


if __name__ == "__main__":
    main()
