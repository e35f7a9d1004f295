"""PyTorch reference for build/bench/gpu: one AdamW training step of the
reference GPT (models.py's Gpt: learned token and position
embeddings, pre-LN blocks with a fused qkv Linear, causal softmax attention
written out, output projection, 4x MLP with exact GELU, final LayerNorm,
untied head without bias, cross-entropy, AdamW lr 3e-4) on the GPU, at the
small config and at a GPT-2-small shape; the GPT-2-small step again with TF32
matmuls (gpt_train_gpt2s_tf32) and under torch.autocast to bf16 with f32
weights (gpt_train_gpt2s_bf16, no loss scaling: bf16 has f32's exponent
range); and torch's scaled_dot_product_attention, causal, f32, at the
GPT-2-small attention shape B 8 H 12 T 1024 D 64, forward (attention_fwd) and
forward + backward (attention_bwd). Prints one JSON line per case
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
CONFIGS["gpt_train_gpt2s_tf32"] = CONFIGS["gpt_train_gpt2s"]
CONFIGS["gpt_train_gpt2s_bf16"] = CONFIGS["gpt_train_gpt2s"]
ATTENTION_SHAPE = (8, 12, 1024, 64)


def attention_step(backward):
    gen = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(ATTENTION_SHAPE, device="cuda", generator=gen, requires_grad=backward) for _ in range(3))
    dout = torch.randn(ATTENTION_SHAPE, device="cuda", generator=gen)

    def step():
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        if backward:
            torch.autograd.grad(out, (q, k, v), dout)
        torch.cuda.synchronize()

    return step


def train_step(cfg, device, bf16=False):
    model = Gpt(**cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    idx = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["context"]), device=device)
    target = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["context"]), device=device)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            logits = model(idx)
            loss = F.cross_entropy(logits.view(-1, cfg["vocab"]).float(), target.view(-1))
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
        torch.backends.cuda.matmul.allow_tf32 = args.tf32 or case.endswith("_tf32")
        torch.backends.cudnn.allow_tf32 = args.tf32 or case.endswith("_tf32")
        if case.startswith("attention_"):
            step = attention_step(backward=case == "attention_bwd")
        else:
            step = train_step(CONFIGS[case], "cuda", bf16=case.endswith("_bf16"))
        emit(case, label, time_it(step, args.samples, args.min_sample_seconds))


if __name__ == "__main__":
    main()
