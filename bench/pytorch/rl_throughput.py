"""End-to-end RL training throughput reference for build/bench/rl_throughput:
CleanRL-style PyTorch training loops with numpy environments, with the
hyperparameters and network sizes of gradlab's defaults (algorithms/rl/ppo.h,
sac.h, td3.h), timed like gradlab's trainers time themselves: from the first
reset to the end of the last update, without any evaluation episode.

  ppo/CartPole-v1  4 envs x 128 steps, 4 minibatches x 4 epochs, actor and
                   critic 4-64-64 tanh (orthogonal init), Categorical policy,
                   GAE (0.99, 0.95) with V(final obs) bootstrapped at a
                   truncation, normalised advantages, clipped surrogate and
                   clipped value loss (0.2), entropy 0.01, value 0.5, grad
                   clip 0.5, Adam lr 2.5e-4 (eps 1e-5) annealed linearly
  sac/Pendulum-v1  2x256 ReLU actor (tanh-squashed Gaussian, log-std in
                   [-5, 2]) and twin 2x256 Q networks with Polyak targets (tau
                   0.005), batch 256, gamma 0.99, q lr 1e-3, policy lr 3e-4,
                   two delayed actor and temperature updates every second step
                   (autotuned alpha, target entropy -|A|)
  td3/Pendulum-v1  2x256 ReLU deterministic tanh actor and twin 2x256 Q
                   networks, all with Polyak targets updated with the actor
                   every second step, batch 256, lr 3e-4, exploration noise
                   0.1, target smoothing noise 0.2 clipped at 0.5

Uniformly random actions before --learning-starts, as in gradlab. As gradlab
does, the critics are frozen while the actor's loss is backpropagated through
them (CleanRL lets those gradients accumulate into the critics and zeroes
them later; freezing only skips work). The environments follow Gymnasium's
CartPole-v1 and Pendulum-v1 equations (the same as envs/cartpole.cpp and
envs/pendulum.cpp), with their time limits (500 and 200 steps), auto-reset
in the same step and the final observation kept.

One JSON line per case, as run_reference (bench/common/bench.cpp) reads it:
{"case", "label", "min", "median", "max", "blas"} in seconds per environment
step (one run: min = median = max), plus "steps", "seconds" and "steps_per_s".

  python3 rl_throughput.py --threads 1 --cases ppo,sac,td3 --ppo-steps 50000 --offpolicy-steps 5000"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions.categorical import Categorical
from torch.distributions.normal import Normal

from timing import blas_kernel, settle_allocator

# ---------------------------------------------------------------- environments


class CartPole:
    """Gymnasium's CartPole-v1: explicit Euler, +1 per step, 500-step limit."""

    obs_dim, n_actions, max_steps = 4, 2, 500
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass = masscart + masspole
    polemass_length = masspole * length
    theta_threshold = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def reset(self):
        self.state = tuple(float(v) for v in self.rng.uniform(-0.05, 0.05, size=4))
        self.t = 0
        return np.array(self.state, dtype=np.float32)

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta, sintheta = math.cos(theta), math.sin(theta)
        temp = (force + self.polemass_length * theta_dot**2 * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta**2 / self.total_mass)
        )
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = (x, x_dot, theta, theta_dot)
        terminated = x < -self.x_threshold or x > self.x_threshold or theta < -self.theta_threshold or (
            theta > self.theta_threshold
        )
        self.t += 1
        return np.array(self.state, dtype=np.float32), 1.0, terminated, self.t >= self.max_steps


class Pendulum:
    """Gymnasium's Pendulum-v1: cost on the state before the update, 200-step limit."""

    obs_dim, action_dim, max_steps = 3, 1, 200
    max_speed, max_torque, dt, g, m, l = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0
    low, high = np.array([-2.0], dtype=np.float32), np.array([2.0], dtype=np.float32)

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def observe(self):
        return np.array([math.cos(self.th), math.sin(self.th), self.thdot], dtype=np.float32)

    def reset(self):
        self.th = float(self.rng.uniform(-math.pi, math.pi))
        self.thdot = float(self.rng.uniform(-1.0, 1.0))
        self.t = 0
        return self.observe()

    def step(self, action):
        u = min(max(float(action[0]), -self.max_torque), self.max_torque)
        th, thdot = self.th, self.thdot
        norm_th = ((th + math.pi) % (2 * math.pi)) - math.pi
        cost = norm_th**2 + 0.1 * thdot**2 + 0.001 * u**2
        newthdot = thdot + (3 * self.g / (2 * self.l) * math.sin(th) + 3.0 / (self.m * self.l**2) * u) * self.dt
        newthdot = min(max(newthdot, -self.max_speed), self.max_speed)
        self.th = th + newthdot * self.dt
        self.thdot = newthdot
        self.t += 1
        return self.observe(), -cost, False, self.t >= self.max_steps


class SyncVectorEnv:
    """N envs stepped in turn, auto-reset in the same step (the final
    observation kept), episode returns recorded."""

    def __init__(self, make, n, seed):
        self.envs = [make(seed + i) for i in range(n)]
        self.returns = np.zeros(n)
        self.episode_returns = []

    def reset(self):
        return np.stack([e.reset() for e in self.envs])

    def step(self, actions):
        n = len(self.envs)
        obs, rewards = [None] * n, np.zeros(n, dtype=np.float32)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        final_obs = [None] * n
        for i, env in enumerate(self.envs):
            o, r, term, trunc = env.step(actions[i])
            rewards[i], terminated[i], truncated[i] = r, term, trunc
            self.returns[i] += r
            if term or trunc:
                final_obs[i] = o
                self.episode_returns.append(self.returns[i])
                self.returns[i] = 0
                o = env.reset()
            obs[i] = o
        return np.stack(obs), rewards, terminated, truncated, final_obs


# ---------------------------------------------------------------- PPO (discrete)


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class PPOAgent(nn.Module):
    def __init__(self, obs_dim, n_actions, hidden):
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, hidden)), nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
            layer_init(nn.Linear(hidden, 1), std=1.0),
        )
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_dim, hidden)), nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
            layer_init(nn.Linear(hidden, n_actions), std=0.01),
        )

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        probs = Categorical(logits=self.actor(x))
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


def run_ppo(total_timesteps, seed):
    # gradlab's PPOArgs defaults (CleanRL's ppo.py)
    num_envs, num_steps, lr, gamma, gae_lambda = 4, 128, 2.5e-4, 0.99, 0.95
    num_minibatches, update_epochs, clip_coef, ent_coef, vf_coef, max_grad_norm = 4, 4, 0.2, 0.01, 0.5, 0.5
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    num_iterations = total_timesteps // batch_size

    envs = SyncVectorEnv(CartPole, num_envs, seed)
    agent = PPOAgent(CartPole.obs_dim, CartPole.n_actions, 64)
    optimizer = torch.optim.Adam(agent.parameters(), lr=lr, eps=1e-5)
    obs = torch.zeros((num_steps, num_envs, CartPole.obs_dim))
    actions = torch.zeros((num_steps, num_envs), dtype=torch.long)
    logprobs = torch.zeros((num_steps, num_envs))
    rewards = torch.zeros((num_steps, num_envs))
    terms = torch.zeros((num_steps, num_envs))
    truncs = torch.zeros((num_steps, num_envs))
    boots = torch.zeros((num_steps, num_envs))
    values = torch.zeros((num_steps, num_envs))

    start = time.perf_counter()
    global_step = 0
    next_obs = torch.as_tensor(envs.reset())
    for iteration in range(1, num_iterations + 1):
        optimizer.param_groups[0]["lr"] = (1.0 - (iteration - 1.0) / num_iterations) * lr
        for step in range(num_steps):
            global_step += num_envs
            obs[step] = next_obs
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            o, r, term, trunc, final_obs = envs.step(action.numpy())
            boot = np.zeros(num_envs, dtype=np.float32)
            for i in range(num_envs):
                if trunc[i] and not term[i]:  # V(final observation) where the time limit cut the episode
                    with torch.no_grad():
                        boot[i] = agent.get_value(torch.as_tensor(final_obs[i])[None]).item()
            rewards[step] = torch.as_tensor(r)
            terms[step] = torch.as_tensor(term.astype(np.float32))
            truncs[step] = torch.as_tensor((trunc & ~term).astype(np.float32))
            boots[step] = torch.as_tensor(boot)
            next_obs = torch.as_tensor(o)

        # GAE, cut at every episode end, bootstrapped through truncations
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                nextvalues = next_value[0] if t == num_steps - 1 else values[t + 1]
                nextvalues = torch.where(truncs[t] > 0, boots[t], nextvalues)
                delta = rewards[t] + gamma * nextvalues * (1.0 - terms[t]) - values[t]
                lastgaelam = delta + gamma * gae_lambda * (1.0 - torch.maximum(terms[t], truncs[t])) * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values

        b_obs = obs.reshape((-1, CartPole.obs_dim))
        b_logprobs, b_actions = logprobs.reshape(-1), actions.reshape(-1)
        b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)
        b_inds = np.arange(batch_size)
        clipfracs = []
        for epoch in range(update_epochs):
            np.random.shuffle(b_inds)
            for s in range(0, batch_size, minibatch_size):
                mb_inds = b_inds[s : s + minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss = torch.max(-mb_advantages * ratio, -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)).mean()
                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -clip_coef, clip_coef)
                v_loss = 0.5 * torch.max(v_loss_unclipped, (v_clipped - b_returns[mb_inds]) ** 2).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()
        y_pred, y_true = b_values.numpy(), b_returns.numpy()
        var_y = np.var(y_true)
        _ = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y  # explained variance, as logged
        _ = (v_loss.item(), pg_loss.item(), entropy_loss.item(), old_approx_kl.item(), approx_kl.item())
    return global_step, time.perf_counter() - start


# ---------------------------------------------------------------- SAC and TD3 (continuous)


class ReplayBuffer:
    def __init__(self, capacity, obs_dim, action_dim, seed):
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, action_dim), dtype=np.float32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.pos, self.size = capacity, 0, 0
        self.rng = np.random.default_rng(seed)

    def add(self, obs, next_obs, action, reward, terminated):
        k = self.pos
        self.obs[k], self.next_obs[k], self.actions[k] = obs, next_obs, action
        self.rewards[k], self.dones[k] = reward, terminated
        self.pos = (k + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        idx = self.rng.integers(0, self.size, size=batch_size)
        return (torch.from_numpy(self.obs[idx]), torch.from_numpy(self.actions[idx]),
                torch.from_numpy(self.next_obs[idx]), torch.from_numpy(self.rewards[idx]),
                torch.from_numpy(self.dones[idx]))


class QNetwork(nn.Module):
    def __init__(self, obs_dim, action_dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(obs_dim + action_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 1)

    def forward(self, x, a):
        x = torch.cat([x, a], 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def action_scale_bias():
    low, high = torch.as_tensor(Pendulum.low), torch.as_tensor(Pendulum.high)
    return (high - low) / 2.0, (high + low) / 2.0


class SACActor(nn.Module):
    LOG_STD_MIN, LOG_STD_MAX = -5, 2

    def __init__(self, obs_dim, action_dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc_mean = nn.Linear(hidden, action_dim)
        self.fc_logstd = nn.Linear(hidden, action_dim)
        scale, bias = action_scale_bias()
        self.register_buffer("action_scale", scale)
        self.register_buffer("action_bias", bias)

    def forward(self, x):
        x = F.relu(self.fc2(F.relu(self.fc1(x))))
        mean = self.fc_mean(x)
        log_std = torch.tanh(self.fc_logstd(x))
        log_std = self.LOG_STD_MIN + 0.5 * (self.LOG_STD_MAX - self.LOG_STD_MIN) * (log_std + 1)
        return mean, log_std

    def get_action(self, x):
        mean, log_std = self(x)
        normal = Normal(mean, log_std.exp())
        x_t = normal.rsample()
        y_t = torch.tanh(x_t)
        action = y_t * self.action_scale + self.action_bias
        log_prob = normal.log_prob(x_t) - torch.log(self.action_scale * (1 - y_t.pow(2)) + 1e-6)
        return action, log_prob.sum(1, keepdim=True), torch.tanh(mean) * self.action_scale + self.action_bias


class TD3Actor(nn.Module):
    def __init__(self, obs_dim, action_dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc_mu = nn.Linear(hidden, action_dim)
        scale, bias = action_scale_bias()
        self.register_buffer("action_scale", scale)
        self.register_buffer("action_bias", bias)

    def forward(self, x):
        x = F.relu(self.fc2(F.relu(self.fc1(x))))
        return torch.tanh(self.fc_mu(x)) * self.action_scale + self.action_bias


def polyak(target, online, tau):
    for param, target_param in zip(online.parameters(), target.parameters()):
        target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)


def set_requires_grad(nets, flag):
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)


def run_sac(total_timesteps, learning_starts, seed):
    # gradlab's SACArgs defaults (CleanRL's sac_continuous_action.py)
    gamma, tau, batch_size, policy_lr, q_lr, policy_frequency, target_network_frequency, hidden = (
        0.99, 0.005, 256, 3e-4, 1e-3, 2, 1, 256)
    envs = SyncVectorEnv(Pendulum, 1, seed)
    obs_dim, action_dim = Pendulum.obs_dim, Pendulum.action_dim
    actor = SACActor(obs_dim, action_dim, hidden)
    qf1, qf2 = QNetwork(obs_dim, action_dim, hidden), QNetwork(obs_dim, action_dim, hidden)
    qf1_target, qf2_target = QNetwork(obs_dim, action_dim, hidden), QNetwork(obs_dim, action_dim, hidden)
    qf1_target.load_state_dict(qf1.state_dict())
    qf2_target.load_state_dict(qf2.state_dict())
    q_optimizer = torch.optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=q_lr)
    actor_optimizer = torch.optim.Adam(list(actor.parameters()), lr=policy_lr)
    target_entropy = -float(action_dim)
    log_alpha = torch.zeros(1, requires_grad=True)
    alpha = log_alpha.exp().item()
    a_optimizer = torch.optim.Adam([log_alpha], lr=q_lr)
    rb = ReplayBuffer(total_timesteps, obs_dim, action_dim, seed)
    rng = np.random.default_rng(seed + 1)

    start = time.perf_counter()
    obs = envs.reset()
    for global_step in range(total_timesteps):
        if global_step < learning_starts:
            actions = rng.uniform(Pendulum.low, Pendulum.high, size=(1, action_dim)).astype(np.float32)
        else:
            with torch.no_grad():
                actions, _, _ = actor.get_action(torch.as_tensor(obs))
            actions = actions.numpy()
        next_obs, rewards, terms, truncs, final_obs = envs.step(actions)
        real_next_obs = final_obs[0] if (terms[0] or truncs[0]) else next_obs[0]
        rb.add(obs[0], real_next_obs, actions[0], rewards[0], terms[0])
        obs = next_obs

        if global_step >= learning_starts:
            b_obs, b_actions, b_next_obs, b_rewards, b_dones = rb.sample(batch_size)
            with torch.no_grad():
                next_actions, next_log_pi, _ = actor.get_action(b_next_obs)
                min_qf_next = torch.min(qf1_target(b_next_obs, next_actions), qf2_target(b_next_obs, next_actions))
                min_qf_next = min_qf_next - alpha * next_log_pi
                next_q_value = b_rewards + (1 - b_dones) * gamma * min_qf_next.view(-1)
            qf1_a_values = qf1(b_obs, b_actions).view(-1)
            qf2_a_values = qf2(b_obs, b_actions).view(-1)
            qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
            qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
            qf_loss = qf1_loss + qf2_loss
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()

            if global_step % policy_frequency == 0:
                for _ in range(policy_frequency):
                    set_requires_grad((qf1, qf2), False)
                    pi, log_pi, _ = actor.get_action(b_obs)
                    min_qf_pi = torch.min(qf1(b_obs, pi), qf2(b_obs, pi))
                    actor_loss = ((alpha * log_pi) - min_qf_pi).mean()
                    actor_optimizer.zero_grad()
                    actor_loss.backward()
                    actor_optimizer.step()
                    set_requires_grad((qf1, qf2), True)
                    with torch.no_grad():
                        _, log_pi, _ = actor.get_action(b_obs)
                    alpha_loss = (-log_alpha.exp() * (log_pi + target_entropy)).mean()
                    a_optimizer.zero_grad()
                    alpha_loss.backward()
                    a_optimizer.step()
                    alpha = log_alpha.exp().item()
            if global_step % target_network_frequency == 0:
                polyak(qf1_target, qf1, tau)
                polyak(qf2_target, qf2, tau)
            if global_step % 100 == 0:  # the values CleanRL logs
                _ = (qf1_a_values.mean().item(), qf2_a_values.mean().item(), qf1_loss.item(), qf2_loss.item(),
                     qf_loss.item() / 2.0)
    return total_timesteps, time.perf_counter() - start


def run_td3(total_timesteps, learning_starts, seed):
    # gradlab's TD3Args defaults (CleanRL's td3_continuous_action.py)
    lr, gamma, tau, batch_size, policy_noise, exploration_noise, policy_frequency, noise_clip, hidden = (
        3e-4, 0.99, 0.005, 256, 0.2, 0.1, 2, 0.5, 256)
    envs = SyncVectorEnv(Pendulum, 1, seed)
    obs_dim, action_dim = Pendulum.obs_dim, Pendulum.action_dim
    actor, target_actor = TD3Actor(obs_dim, action_dim, hidden), TD3Actor(obs_dim, action_dim, hidden)
    qf1, qf2 = QNetwork(obs_dim, action_dim, hidden), QNetwork(obs_dim, action_dim, hidden)
    qf1_target, qf2_target = QNetwork(obs_dim, action_dim, hidden), QNetwork(obs_dim, action_dim, hidden)
    target_actor.load_state_dict(actor.state_dict())
    qf1_target.load_state_dict(qf1.state_dict())
    qf2_target.load_state_dict(qf2.state_dict())
    q_optimizer = torch.optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=lr)
    actor_optimizer = torch.optim.Adam(list(actor.parameters()), lr=lr)
    low, high = torch.as_tensor(Pendulum.low), torch.as_tensor(Pendulum.high)
    rb = ReplayBuffer(total_timesteps, obs_dim, action_dim, seed)
    rng = np.random.default_rng(seed + 1)

    start = time.perf_counter()
    obs = envs.reset()
    for global_step in range(total_timesteps):
        if global_step < learning_starts:
            actions = rng.uniform(Pendulum.low, Pendulum.high, size=(1, action_dim)).astype(np.float32)
        else:
            with torch.no_grad():
                actions = actor(torch.as_tensor(obs))
                actions += torch.normal(0, actor.action_scale * exploration_noise)
            actions = actions.numpy().clip(Pendulum.low, Pendulum.high)
        next_obs, rewards, terms, truncs, final_obs = envs.step(actions)
        real_next_obs = final_obs[0] if (terms[0] or truncs[0]) else next_obs[0]
        rb.add(obs[0], real_next_obs, actions[0], rewards[0], terms[0])
        obs = next_obs

        if global_step >= learning_starts:
            b_obs, b_actions, b_next_obs, b_rewards, b_dones = rb.sample(batch_size)
            with torch.no_grad():
                clipped_noise = (torch.randn_like(b_actions) * policy_noise).clamp(-noise_clip, noise_clip)
                next_actions = torch.max(torch.min(target_actor(b_next_obs) + clipped_noise * target_actor.action_scale,
                                                   high), low)
                min_qf_next = torch.min(qf1_target(b_next_obs, next_actions), qf2_target(b_next_obs, next_actions))
                next_q_value = b_rewards + (1 - b_dones) * gamma * min_qf_next.view(-1)
            qf1_a_values = qf1(b_obs, b_actions).view(-1)
            qf2_a_values = qf2(b_obs, b_actions).view(-1)
            qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
            qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
            qf_loss = qf1_loss + qf2_loss
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()

            if global_step % policy_frequency == 0:
                set_requires_grad((qf1,), False)
                actor_loss = -qf1(b_obs, actor(b_obs)).mean()
                actor_optimizer.zero_grad()
                actor_loss.backward()
                actor_optimizer.step()
                set_requires_grad((qf1,), True)
                _ = actor_loss.item()
                polyak(target_actor, actor, tau)
                polyak(qf1_target, qf1, tau)
                polyak(qf2_target, qf2, tau)
            if global_step % 100 == 0:  # the values CleanRL logs
                _ = (qf1_a_values.mean().item(), qf2_a_values.mean().item(), qf1_loss.item(), qf2_loss.item(),
                     qf_loss.item() / 2.0)
    return total_timesteps, time.perf_counter() - start


# ---------------------------------------------------------------- main

CASES = {"ppo": "ppo/CartPole-v1", "sac": "sac/Pendulum-v1", "td3": "td3/Pendulum-v1"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cases", default="ppo,sac,td3")
    p.add_argument("--ppo-steps", type=int, default=50000)
    p.add_argument("--offpolicy-steps", type=int, default=5000)
    p.add_argument("--learning-starts", type=int, default=1000)
    args = p.parse_args()
    settle_allocator()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    label = "pytorch-" + torch.__version__
    for case in args.cases.split(","):
        if case == "ppo":
            steps, seconds = run_ppo(args.ppo_steps, args.seed)
        elif case == "sac":
            steps, seconds = run_sac(args.offpolicy_steps, args.learning_starts, args.seed)
        elif case == "td3":
            steps, seconds = run_td3(args.offpolicy_steps, args.learning_starts, args.seed)
        else:
            raise SystemExit(f"--cases: unknown case '{case}' (ppo, sac, td3)")
        per_step = seconds / steps
        line = {"case": CASES[case], "label": label, "min": per_step, "median": per_step, "max": per_step,
                "blas": blas_kernel(), "steps": steps, "seconds": seconds, "steps_per_s": steps / seconds}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
