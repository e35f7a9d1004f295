"""PyTorch reference for build/bench/gpu: one AdamW training step of the
reference GPT (models.py's Gpt: learned token and position
embeddings, pre-LN blocks with a fused qkv Linear, causal softmax attention
written out, output projection, 4x MLP with exact GELU, final LayerNorm,
untied head without bias, cross-entropy, AdamW lr 3e-4) on the GPU, at the
small config and at a GPT-2-small shape. Prints one JSON line per case
(timing.emit); exits with a message when PyTorch has no CUDA device."""
import argparse
import sys

import torch
import torch.nn.functional as F

from models import Gpt  # the same reference GPT as the CPU benchmark
from timing import emit, time_it

CONFIGS = {
    "gpt_train_small": dict(vocab=64, context=64, d_model=128, heads=4, layers=2, batch=32),
    "gpt_train_gpt2s": dict(vocab=50257, context=1024, d_model=768, heads=12, layers=12, batch=8),
}


def train_step(cfg, device):
    model = Gpt(**cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    idx = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["context"]), device=device)
    target = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["context"]), device=device)

    def step():
        logits = model(idx)
        loss = F.cross_entropy(logits.view(-1, cfg["vocab"]), target.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        torch.cuda.synchronize()

    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cases", default="gpt_train_small,gpt_train_gpt2s")
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--min-sample-seconds", type=float, default=0.2)
    p.add_argument("--tf32", action="store_true")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print(f"this PyTorch ({torch.__version__}) has no CUDA device", file=sys.stderr)
        sys.exit(2)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    label = f"pytorch-{torch.__version__}-cuda"
    for case in args.cases.split(","):
        emit(case, label, time_it(train_step(CONFIGS[case], "cuda"), args.samples, args.min_sample_seconds))


if __name__ == "__main__":
    main()
