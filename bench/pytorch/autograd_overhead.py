"""Autograd-overhead reference for build/bench/autograd_overhead: the same
chain of --ops small ops on --size x --size float32 tensors (h * w, h + b,
tanh, sigmoid, repeated; then sum), timed forward + backward with a fresh graph
and fresh grads each call, and forward alone with and without recording. One
JSON line per case on stdout, seconds per call of the whole chain.

  python3 autograd_overhead.py --ops 1000 --size 64 --threads 1"""
import argparse

import torch

from timing import emit, time_it


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ops", type=int, default=1000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=7)
    p.add_argument("--min-sample-seconds", type=float, default=0.05)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    x, w, b = (torch.randn(args.size, args.size, generator=g).requires_grad_() for _ in range(3))

    def loss():
        h = x
        for i in range(args.ops):
            k = i % 4
            if k == 0:
                h = h * w
            elif k == 1:
                h = h + b
            elif k == 2:
                h = torch.tanh(h)
            else:
                h = torch.sigmoid(h)
        return h.sum()

    def forward_backward():
        x.grad = w.grad = b.grad = None
        loss().backward()

    def forward_nograd():
        with torch.no_grad():
            loss()

    label = "pytorch-" + torch.__version__
    cases = {"chain_fwd_bwd": forward_backward, "chain_fwd_record": loss, "chain_fwd_nograd": forward_nograd}
    for name, fn in cases.items():
        emit(name, label, time_it(fn, args.samples, args.min_sample_seconds))


if __name__ == "__main__":
    main()
