// TD3, one file in the manner of CleanRL's td3_continuous_action.py
// (arXiv 1802.09477; equations in docs/papers/rl-baselines.md): the target computation, the
// deterministic tanh actor and twin Q networks with their targets, then the
// loop: act with Gaussian exploration noise (uniformly at random before
// learning_starts), store, update both critics every step, and the actor and
// every target network every policy_frequency steps.
#include "algorithms/rl/td3.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "algorithms/rl/buffers.h"
#include "algorithms/rl/networks.h"
#include "envs/vector_env.h"
#include "nn/layers.h"
#include "nn/policy.h"
#include "optim/adam.h"
#include "optim/finite.h"
#include "optim/polyak.h"
#include "tensor/error.h"

namespace gradlab::rl {

// ---------------------------------------------------------------- targets

Tensor td3_smoothed_target_action(const Tensor& target_action, const Tensor& eps, double noise_clip,
                                  const std::vector<double>& scale, const std::vector<double>& low,
                                  const std::vector<double>& high) {
  GL_CHECK(target_action.dim() == 2 && eps.shape() == target_action.shape(),
           "td3_smoothed_target_action: target_action and eps must both be [B, A], got {} and {}",
           target_action.shape(), eps.shape());
  const size_t A = size_t(target_action.size(1));
  GL_CHECK(scale.size() == A && low.size() == A && high.size() == A,
           "td3_smoothed_target_action: scale, low and high must have A = {} entries, got {}, {} and {}", A,
           scale.size(), low.size(), high.size());
  GL_CHECK(noise_clip >= 0, "td3_smoothed_target_action: noise_clip must be >= 0, got {}", noise_clip);
  const DType dt = target_action.dtype();
  auto row = [&](const std::vector<double>& v) { return from_vector(v).to(dt).to(target_action.device()); };
  // docs/papers/rl-baselines.md "TD3" target: clip(eps, -0.5, 0.5), eps ~ N(0, 0.2), in units of the action scale
  const Tensor noise = mul(clamp(eps, -noise_clip, noise_clip), row(scale));
  // docs/papers/rl-baselines.md "TD3" target: clip(pi'(s') + noise, low, high)
  return minimum(maximum(add(target_action, noise), row(low)), row(high));
}

Tensor td3_critic_target(const Tensor& rewards, const Tensor& terminated, const Tensor& next_q1, const Tensor& next_q2,
                         double gamma) {
  const Shape& s = rewards.shape();
  GL_CHECK(rewards.dim() == 1 && terminated.shape() == s && next_q1.shape() == s && next_q2.shape() == s,
           "td3_critic_target: all inputs must be [B] = {}, got terminated {} next_q1 {} next_q2 {}", s,
           terminated.shape(), next_q1.shape(), next_q2.shape());
  // docs/papers/rl-baselines.md "TD3" target: y = r + gamma (1 - d) min_j Q'_j(s', a~) (clipped double Q)
  return add(rewards, mul(mul(sub(ones_like(terminated), terminated), gamma), minimum(next_q1, next_q2)));
}

// ---------------------------------------------------------------- training

TrainResult train_td3(const TD3Args& args, const EnvFactory& make) {
  GL_CHECK(args.total_timesteps > 0 && args.batch_size > 0 && args.buffer_size > 0 && args.policy_frequency > 0 &&
               args.hidden > 0 && args.eval_episodes > 0,
           "train_td3: --total-timesteps, --batch-size, --buffer-size, --policy-frequency, --hidden and "
           "--eval-episodes must be positive");
  GL_CHECK(args.tau >= 0 && args.tau <= 1, "train_td3: --tau must be in [0, 1], got {}", args.tau);

  const Generator run_gen(args.seed);  // one generator per random stream of the run
  Generator init_gen = run_gen.fork(0), noise_gen = run_gen.fork(1), sample_gen = run_gen.fork(2),
            explore_gen = run_gen.fork(4);

  envs::VectorEnv vec(
      [&]() -> envs::EnvPtr { return std::make_unique<envs::EpisodeStatistics>(make_env_or(make, args.env_id)); }, 1);
  const envs::Space& space = vec.action_space();
  GL_CHECK(!space.is_discrete() && !vec.observation_space().is_discrete(),
           "train_td3({}): needs box observation and action spaces, got {} and {}", args.env_id,
           vec.observation_space().str(), space.str());
  const int64_t obs_dim = vec.obs_dim(), A = space.dim();
  std::vector<double> scale;
  for (int64_t j = 0; j < A; ++j) scale.push_back((space.high[size_t(j)] - space.low[size_t(j)]) / 2);

  const std::vector<int64_t> hidden{args.hidden, args.hidden};
  DeterministicActor actor(obs_dim, space, hidden, init_gen), target_actor(obs_dim, space, hidden, init_gen);
  QNetwork qf1(obs_dim, A, hidden, init_gen), qf2(obs_dim, A, hidden, init_gen);
  QNetwork qf1_target(obs_dim, A, hidden, init_gen), qf2_target(obs_dim, A, hidden, init_gen);
  target_actor.load_state_dict(actor.state_dict());
  qf1_target.load_state_dict(qf1.state_dict());
  qf2_target.load_state_dict(qf2.state_dict());
  const Device device = args.device;  // initialised on the CPU (the same weights everywhere), then moved
  for (nn::Module* m : std::initializer_list<nn::Module*>{&actor, &target_actor, &qf1, &qf2, &qf1_target, &qf2_target})
    m->to(device);
  target_actor.freeze();
  qf1_target.freeze();
  qf2_target.freeze();
  optim::Adam q_optimizer(joined(qf1.parameters(), qf2.parameters()), {.lr = args.learning_rate});
  optim::Adam actor_optimizer(actor.parameters(), {.lr = args.learning_rate});

  // Never more room than the run can fill (the buffer is allocated up front).
  ReplayBuffer rb(std::min(args.buffer_size, args.total_timesteps), obs_dim, A, device);
  RunLog log(args.log_csv, fmt::format("{}__{}__{}", args.env_id, args.exp_name, args.seed), args.total_timesteps,
             args.progress_seconds);

  auto evaluate = [&]() {
    envs::EnvPtr env = make_env_or(make, args.env_id);
    auto act = [&](const std::vector<double>& obs) {
      NoGradGuard no_grad;
      return actor.forward(row_tensor(obs).to(device)).value().to_vector<double>();
    };
    return evaluate_policy(*env, act, args.eval_episodes, derive_seed(args.seed, 3));
  };

  TrainResult result;
  double recent_return = std::nan("");
  Tensor actor_loss_v;                // read only when logged
  Tensor obs = vec.reset(args.seed);  // on the CPU: it goes to the replay ring there
  for (int64_t global_step = 0; global_step < args.total_timesteps; ++global_step) {
    // ---- act: uniform at first, then mu(s) + N(0, (scale exploration_noise)^2), clipped ----
    std::vector<double> action(static_cast<size_t>(A));
    if (global_step < args.learning_starts) {
      const std::vector<double> u = rand({A}, explore_gen, DType::f64).to_vector<double>();
      for (int64_t j = 0; j < A; ++j)
        action[size_t(j)] = space.low[size_t(j)] + (space.high[size_t(j)] - space.low[size_t(j)]) * u[size_t(j)];
    } else {
      std::vector<double> mu;
      {
        NoGradGuard no_grad;
        mu = actor.forward(obs.to(device)).value().to_vector<double>();  // the step's crossings: obs there, mu back
      }
      const std::vector<double> eps = randn({A}, explore_gen, DType::f64).to_vector<double>();
      for (int64_t j = 0; j < A; ++j) {
        const size_t k = size_t(j);
        action[k] = std::clamp(mu[k] + eps[k] * scale[k] * args.exploration_noise, space.low[k], space.high[k]);
      }
    }
    envs::VectorStep step = vec.step(std::vector<std::vector<double>>{action});
    if (step.episodes[0]) {
      const envs::Episode& ep = *step.episodes[0];
      result.episode_returns.emplace_back(double(global_step + 1), ep.episode_return);
      recent_return = ep.episode_return;
      log.row(global_step + 1, {{"episodic_return", ep.episode_return}, {"episodic_length", double(ep.length)}});
    }
    const std::vector<double> real_next_obs = step.done(0) ? step.final_obs[0] : step.obs.to_vector<double>();
    rb.add(obs.to_vector<double>(), action, step.rewards[0], real_next_obs, step.terminated[0]);
    obs = step.obs;

    // ---- learn ----
    if (global_step >= args.learning_starts) {
      const ReplayBuffer::Batch data = rb.sample(args.batch_size, sample_gen);
      Tensor target;
      {
        NoGradGuard no_grad;
        const Tensor eps = mul(randn(data.actions.shape(), noise_gen, DType::f32, device), args.policy_noise);
        const Tensor next_action = td3_smoothed_target_action(target_actor.forward(data.next_obs).value(), eps,
                                                              args.noise_clip, scale, space.low, space.high);
        target =
            td3_critic_target(data.rewards, data.terminated, qf1_target.forward(data.next_obs, next_action).value(),
                              qf2_target.forward(data.next_obs, next_action).value(), args.gamma);
      }
      const Var q1 = qf1.forward(data.obs, data.actions), q2 = qf2.forward(data.obs, data.actions);
      const Var qf1_loss = mse(q1, target), qf2_loss = mse(q2, target);
      const Var qf_loss = qf1_loss + qf2_loss;
      // On the CPU the loss is checked before its backward; on a device,
      // where a read waits for the queue, when it is logged (every 100 steps).
      if (device == Device::cpu || global_step % 100 == 0) optim::check_finite_loss(qf_loss, "TD3 critic", global_step);
      q_optimizer.zero_grad();
      qf_loss.backward();
      q_optimizer.step();

      if (global_step % args.policy_frequency == 0) {
        // docs/papers/rl-baselines.md "TD3": the actor maximises Q1 and is updated every policy_frequency steps
        qf1.freeze();
        const Var actor_loss = -mean(qf1.forward(data.obs, actor.forward(data.obs)));
        actor_optimizer.zero_grad();
        actor_loss.backward();
        actor_optimizer.step();
        qf1.unfreeze();
        actor_loss_v = actor_loss.value();
        optim::polyak_update(target_actor.parameters(), actor.parameters(), args.tau);
        optim::polyak_update(qf1_target.parameters(), qf1.parameters(), args.tau);
        optim::polyak_update(qf2_target.parameters(), qf2.parameters(), args.tau);
      }
      if (global_step % 100 == 0) {
        std::map<std::string, double> row = {
            {"losses/qf1_values", mean(q1.value()).item()}, {"losses/qf2_values", mean(q2.value()).item()},
            {"losses/qf1_loss", qf1_loss.item()},           {"losses/qf2_loss", qf2_loss.item()},
            {"losses/qf_loss", qf_loss.item() / 2.0},       {"SPS", log.sps(global_step + 1)}};
        if (actor_loss_v.defined()) row["losses/actor_loss"] = actor_loss_v.item();
        log.row(global_step + 1, row);
      }
    }
    log.progress(global_step + 1, recent_return);
    if (args.eval_every > 0 && (global_step + 1) % args.eval_every == 0 && global_step + 1 < args.total_timesteps)
      record_evaluation(result, log, global_step + 1, evaluate().mean_return);
  }
  finish_run(result, log, args.total_timesteps, recent_return, evaluate);
  return result;
}

}  // namespace gradlab::rl
