"""Dynamics-ensemble reference for build/bench/dynamics: the MOPO/ORPO
probabilistic ensemble of algorithms/rl/offline/dynamics_ensemble.cpp in
PyTorch, the same sizes and the same computation, timed like the gradlab side
(warm-up, samples of at least --min-sample-seconds, min / median / max seconds
per call). One JSON line per case on stdout.

  train_step   K members of in-200-200-200-200-2(obs+1) Swish MLPs as batched
               weights [K, in, out] (one matmul per layer, no loop over
               members); a [K, B, in] batch; soft-bounded log-variances
               (learnable bounds 0.5 and -10); loss: per member
               mean((mu - y)^2 e^{-lv}) + mean(lv), summed over the members,
               plus sum_l wd_l |W_l|^2 / 2 and 0.01 (sum max_lv - sum min_lv);
               one Adam step (lr 1e-3)
  model_step   no_grad: standardise [obs, act] of --states rows, every
               member's forward on the shared rows in pieces of --chunk rows
               (as gradlab's predict() does), back to the original units, one
               random elite per row sampled from its Gaussian, s' = s + delta,
               r, and the aleatoric uncertainty max_k ||sigma_k||_2
  model_step_one_batch  the same with all --states rows in one forward (as
               MOPO-style PyTorch code usually writes it)

  python3 dynamics.py --threads 1 --obs 3 --act 1 --batch 256 --states 50000"""
import argparse

import torch
import torch.nn.functional as F

from timing import emit, settle_allocator, time_it

WEIGHT_DECAY = [2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4]


class Ensemble(torch.nn.Module):
    def __init__(self, members, sizes, generator):
        super().__init__()
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = fan_in**-0.5
            w = (torch.rand(members, fan_in, fan_out, generator=generator) * 2 - 1) * bound
            b = (torch.rand(members, 1, fan_out, generator=generator) * 2 - 1) * bound
            self.weights.append(torch.nn.Parameter(w))
            self.biases.append(torch.nn.Parameter(b))
        out = sizes[-1] // 2
        self.max_log_var = torch.nn.Parameter(torch.full((out,), 0.5))
        self.min_log_var = torch.nn.Parameter(torch.full((out,), -10.0))

    def forward(self, x):
        # x [K, N, in] (each member's own rows) or [N, in] (shared): [K, N, out] mean and log-variance
        # shared rows are expanded (a view) rather than broadcast by matmul:
        # matmul([N, in], [K, in, out]) is about 4x slower here than baddbmm
        h = x if x.dim() == 3 else x.expand(self.weights[0].shape[0], *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = F.silu(h)
        out = self.max_log_var.shape[0]
        mean, raw = h[..., :out], h[..., out:]
        lv = self.max_log_var - F.softplus(self.max_log_var - raw)
        lv = self.min_log_var + F.softplus(lv - self.min_log_var)
        return mean, lv

    def loss(self, x, y):
        mean, lv = self(x)
        members = mean.shape[0]
        # sum over members of the per-member means = K * overall mean (equal rows per member)
        nll = ((mean - y) ** 2 * torch.exp(-lv) + lv).mean() * members
        decay = sum(wd * 0.5 * (w**2).sum() for wd, w in zip(WEIGHT_DECAY, self.weights))
        return nll + decay + 0.01 * (self.max_log_var.sum() - self.min_log_var.sum())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--members", type=int, default=7)
    p.add_argument("--elites", type=int, default=5)
    p.add_argument("--obs", type=int, default=3)
    p.add_argument("--act", type=int, default=1)
    p.add_argument("--hidden", type=str, default="200,200,200,200")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--states", type=int, default=50000)
    p.add_argument("--chunk", type=int, default=8192)
    p.add_argument("--samples", type=int, default=7)
    p.add_argument("--min-sample-seconds", type=float, default=0.2)
    p.add_argument("--cases", type=str, default="train_step,model_step,model_step_one_batch")
    args = p.parse_args()
    settle_allocator()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    K, obs, act = args.members, args.obs, args.act
    sizes = [obs + act] + [int(h) for h in args.hidden.split(",")] + [2 * (obs + 1)]
    model = Ensemble(K, sizes, g)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb = torch.randn(K, args.batch, obs + act, generator=g)
    yb = torch.randn(K, args.batch, obs + 1, generator=g)

    def train_step():
        loss = model.loss(xb, yb)
        adam.zero_grad()
        loss.backward()
        adam.step()

    in_mean, in_std = torch.randn(obs + act, generator=g), torch.rand(obs + act, generator=g) + 0.5
    out_mean, out_std = torch.randn(obs + 1, generator=g), torch.rand(obs + 1, generator=g) + 0.5
    elites = torch.arange(args.elites)
    states = torch.randn(args.states, obs, generator=g)
    actions = torch.rand(args.states, act, generator=g) * 4 - 2
    rows = torch.arange(args.states)

    def model_step(chunk):
        with torch.no_grad():
            x = (torch.cat([states, actions], 1) - in_mean) / in_std
            pieces = [model(x[i : i + chunk]) for i in range(0, args.states, chunk)]
            mean = torch.cat([m for m, _ in pieces], 1)
            lv = torch.cat([v for _, v in pieces], 1)
            mean = mean * out_std + out_mean
            lv = lv + 2 * torch.log(out_std)
            std = torch.exp(0.5 * lv)
            member = elites[torch.randint(0, args.elites, (args.states,), generator=g)]
            sample = mean[member, rows] + std[member, rows] * torch.randn(args.states, obs + 1, generator=g)
            next_obs = states + sample[:, :obs]
            reward = sample[:, obs]
            uncertainty = torch.linalg.norm(std, dim=2).amax(0)
            return next_obs, reward, uncertainty

    label = "pytorch-" + torch.__version__
    cases = {
        "train_step": train_step,
        "model_step": lambda: model_step(args.chunk),
        "model_step_one_batch": lambda: model_step(args.states),
    }
    for name in args.cases.split(","):
        emit(name, label, time_it(cases[name], args.samples, args.min_sample_seconds))


if __name__ == "__main__":
    main()
