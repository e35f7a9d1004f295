"""PyTorch reference for build/bench/gpu: one AdamW training step of the
reference GPT (the architecture of models.py: learned token and position
embeddings, pre-LN blocks with a fused qkv Linear, causal softmax attention
written out, output projection, 4x MLP with exact GELU, final LayerNorm,
untied head without bias, cross-entropy, AdamW lr 3e-4) on the GPU, at the
small config and at a GPT-2-small shape. Prints one JSON line per case
(timing.emit); exits with a message when PyTorch has no CUDA device."""
import argparse
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from timing import emit, time_it

CONFIGS = {
    "gpt_train_small": dict(vocab=64, context=64, d_model=128, heads=4, layers=2, batch=32),
    "gpt_train_gpt2s": dict(vocab=50257, context=1024, d_model=768, heads=12, layers=12, batch=8),
}


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc_out = nn.Linear(4 * d, d)

    def attention(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
        return self.proj(y)

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.fc_out(F.gelu(self.fc(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab, context, d_model, heads, layers, **_):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(Block(d_model, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


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
