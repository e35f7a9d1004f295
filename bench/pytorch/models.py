"""Model-throughput reference for build/bench/models: the three reference
models of bench/models.cpp in PyTorch, with exactly the configurations the gradlab
side uses, timed like it (warm-up, samples of at least --min-sample-seconds,
min / median / max seconds per step). One JSON line per case on stdout.

  gpt_train   GPT V64 T64 D128 H4 L2 B32: learned token and position embeddings,
              pre-LN blocks (fused qkv Linear, causal softmax attention, output
              projection, 4x MLP with exact GELU), final LayerNorm, untied head
              without bias; cross-entropy on random tokens; AdamW lr 3e-4
  gpt_infer   the same GPT, forward only (no_grad)
  gpt_generate_b1, gpt_generate_b32  the same GPT decoding greedily with a
              key/value cache: an 8-token prompt, 56 new tokens per row
  mlp_train   MLP 64-256-256-64 ReLU, batch 256, MSE, Adam step
  ppo_update  actor 4-64-64-2 and critic 4-64-64-1 (tanh), minibatch 2048:
              log_softmax, entropy, clipped ratio surrogate (0.2) with advantage
              normalisation, 0.5 x MSE value loss, minus 0.01 x entropy,
              gradient-norm clip 0.5, Adam (lr 3e-4, eps 1e-5)

  python3 models.py --threads 1 --cases gpt_train,gpt_infer,gpt_generate_b1,mlp_train,ppo_update"""
import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from timing import emit, settle_allocator, time_it

GPT = dict(vocab=64, context=64, d_model=128, heads=4, layers=2, batch=32)


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


def gpt_cases():
    model = Gpt(**GPT)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    idx = torch.randint(0, GPT["vocab"], (GPT["batch"], GPT["context"]))
    target = torch.randint(0, GPT["vocab"], (GPT["batch"], GPT["context"]))

    def train():
        logits = model(idx)
        loss = F.cross_entropy(logits.view(-1, GPT["vocab"]), target.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def infer():
        with torch.no_grad():
            model(idx)

    # One training step before anything is timed, so that no case pays its
    # first-call costs (main has already settled malloc: settle_allocator).
    train()

    def generate_rows(rows):
        def run():
            with torch.no_grad():
                generate(model, idx[:rows, :PROMPT], GENERATED)

        return run

    return train, infer, generate_rows


PROMPT, GENERATED = 8, 56


def generate(model, prompt, n):
    """Greedy decoding of n tokens after prompt [B, Tp] with a key/value cache per block."""
    d = GPT["d_model"]
    cache = [None] * len(model.blocks)
    out, step_idx, pos = prompt, prompt, 0
    for _ in range(n):
        t = step_idx.shape[1]
        x = model.tok(step_idx) + model.pos(torch.arange(pos, pos + t))
        for i, blk in enumerate(model.blocks):
            b = x.shape[0]
            q, k, v = blk.qkv(blk.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, blk.heads, d // blk.heads).transpose(1, 2) for z in (q, k, v))
            if cache[i] is not None:
                k, v = torch.cat((cache[i][0], k), dim=2), torch.cat((cache[i][1], v), dim=2)
            cache[i] = (k, v)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // blk.heads))
            if t > 1:  # the prompt: causal within it (the cache was empty)
                mask = torch.ones(t, t, dtype=torch.bool).tril()
                att = att.masked_fill(~mask, float("-inf"))
            y = att.softmax(dim=-1) @ v
            x = x + blk.proj(y.transpose(1, 2).contiguous().view(b, t, d))
            x = x + blk.fc_out(F.gelu(blk.fc(blk.ln2(x))))
        nxt = model.head(model.ln_f(x[:, -1])).argmax(-1, keepdim=True)
        out = torch.cat((out, nxt), dim=1)
        step_idx, pos = nxt, pos + t
    return out


def mlp_case():
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 64))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(256, 64), torch.randn(256, 64)

    def step():
        loss = F.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def ppo_case():
    actor = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 2))
    critic = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    params = list(actor.parameters()) + list(critic.parameters())
    opt = torch.optim.Adam(params, lr=3e-4, eps=1e-5)
    n = 2048
    obs = torch.randn(n, 4)
    actions = torch.randint(0, 2, (n,))
    old_logp = torch.log_softmax(torch.randn(n, 2), dim=-1).gather(1, actions[:, None]).squeeze(1)
    advantages, returns = torch.randn(n), torch.randn(n)

    def update():
        logp_all = torch.log_softmax(actor(obs), dim=-1)
        logp = logp_all.gather(1, actions[:, None]).squeeze(1)
        entropy = -(logp_all.exp() * logp_all).sum(-1).mean()
        adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        ratio = (logp - old_logp).exp()
        pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(0.8, 1.2)).mean()
        v_loss = 0.5 * ((critic(obs).squeeze(1) - returns) ** 2).mean()
        loss = pg_loss + v_loss - 0.01 * entropy
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()

    return update


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cases", default="gpt_train,gpt_infer,gpt_generate_b1,gpt_generate_b32,mlp_train,ppo_update")
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--min-sample-seconds", type=float, default=0.2)
    args = p.parse_args()
    settle_allocator()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    label = "pytorch-" + torch.__version__
    cases = args.cases.split(",")
    fns = {}
    if any(c.startswith("gpt") for c in cases):
        gpt_train, gpt_infer, generate_rows = gpt_cases()
        fns.update(gpt_train=gpt_train, gpt_infer=gpt_infer, gpt_generate_b1=generate_rows(1),
                   gpt_generate_b32=generate_rows(32))
    if "mlp_train" in cases:
        fns["mlp_train"] = mlp_case()
    if "ppo_update" in cases:
        fns["ppo_update"] = ppo_case()
    for case in cases:
        emit(case, label, time_it(fns[case], args.samples, args.min_sample_seconds))


if __name__ == "__main__":
    main()
