// SAC, one file in the manner of CleanRL's sac_continuous_action.py
// (arXiv 1801.01290, 1812.05905; equations in docs/papers/rl-baselines.md): the losses, the
// twin soft Q networks and the squashed Gaussian actor, then the loop: act
// (uniformly at random before learning_starts), store, and update the
// critics every step, the actor and temperature every policy_frequency steps.
#include "algorithms/rl/sac.h"

#include <fmt/format.h>

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

// ---------------------------------------------------------------- losses

namespace {
// alpha as the 0-d temperature of `like`'s dtype on its device (a double, as
// every scalar is, rounds to the operands' dtype).
Tensor temperature_as(const Tensor& alpha, const Tensor& like, const char* op) {
  GL_CHECK(alpha.defined() && alpha.numel() == 1 && is_floating(alpha.dtype()),
           "{}: alpha must be one floating value, got {}", op, alpha.defined() ? alpha.shape() : Shape{});
  GL_CHECK(alpha.device() == like.device(), "{}: alpha is on {}, the losses' tensors on {}", op,
           device_name(alpha.device()), device_name(like.device()));
  return alpha.reshape({}).to(like.dtype());
}
}  // namespace

Tensor sac_critic_target(const Tensor& rewards, const Tensor& terminated, const Tensor& next_q1, const Tensor& next_q2,
                         const Tensor& next_log_prob, const Tensor& alpha, double gamma) {
  const Shape& s = rewards.shape();
  GL_CHECK(rewards.dim() == 1 && terminated.shape() == s && next_q1.shape() == s && next_q2.shape() == s &&
               next_log_prob.shape() == s,
           "sac_critic_target: all inputs must be [B] = {}, got terminated {} next_q1 {} next_q2 {} next_log_prob {}",
           s, terminated.shape(), next_q1.shape(), next_q2.shape(), next_log_prob.shape());
  const Tensor a = temperature_as(alpha, next_log_prob, "sac_critic_target");
  // docs/papers/rl-baselines.md "SAC" critic target: min_j Q'_j(s', a') - alpha log pi(a'|s'), a' ~ pi(.|s')
  const Tensor soft_value = sub(minimum(next_q1, next_q2), mul(next_log_prob, a));
  // docs/papers/rl-baselines.md "SAC" critic target: y = r + gamma (1 - d) soft_value
  return add(rewards, mul(mul(sub(ones_like(terminated), terminated), gamma), soft_value));
}
Tensor sac_critic_target(const Tensor& rewards, const Tensor& terminated, const Tensor& next_q1, const Tensor& next_q2,
                         const Tensor& next_log_prob, double alpha, double gamma) {
  return sac_critic_target(rewards, terminated, next_q1, next_q2, next_log_prob,
                           full({}, alpha, DType::f64, next_log_prob.device()), gamma);
}

Var sac_temperature_loss(const Var& log_alpha, const Tensor& log_prob, double target_entropy) {
  GL_CHECK(log_alpha.numel() == 1, "sac_temperature_loss: log_alpha must hold one value, got shape {}",
           log_alpha.shape());
  GL_CHECK(log_prob.dim() == 1, "sac_temperature_loss: log_prob must be [B], got {}", log_prob.shape());
  // docs/papers/rl-baselines.md "SAC" temperature loss: -alpha (log pi + H_target), H_target = -|A|
  return mean(-exp(reshape(log_alpha, {1})) * Var(add(log_prob, target_entropy)));
}

Tensor sac_temperature(const Var& log_alpha) {
  GL_CHECK(log_alpha.numel() == 1, "sac_temperature: log_alpha must hold one value, got shape {}", log_alpha.shape());
  return exp(log_alpha.value().reshape({}).to(DType::f64));
}

Var sac_actor_loss(const Var& log_prob, const Var& q1, const Var& q2, const Tensor& alpha) {
  GL_CHECK(log_prob.dim() == 1 && q1.shape() == log_prob.shape() && q2.shape() == log_prob.shape(),
           "sac_actor_loss: log_prob, q1 and q2 must be [B], got {}, {} and {}", log_prob.shape(), q1.shape(),
           q2.shape());
  const Var a(temperature_as(alpha, log_prob.value(), "sac_actor_loss"));
  // docs/papers/rl-baselines.md "SAC" actor loss: E[alpha log pi(a|s) - min_j Q_j(s, a)]
  return mean(a * log_prob - minimum(q1, q2));
}
Var sac_actor_loss(const Var& log_prob, const Var& q1, const Var& q2, double alpha) {
  return sac_actor_loss(log_prob, q1, q2, full({}, alpha, DType::f64, log_prob.device()));
}

// ---------------------------------------------------------------- training

TrainResult train_sac(const SACArgs& args, const EnvFactory& make) {
  GL_CHECK(args.total_timesteps > 0 && args.batch_size > 0 && args.buffer_size > 0 && args.policy_frequency > 0 &&
               args.target_network_frequency > 0 && args.hidden > 0 && args.eval_episodes > 0,
           "train_sac: --total-timesteps, --batch-size, --buffer-size, --policy-frequency, "
           "--target-network-frequency, --hidden and --eval-episodes must be positive");
  GL_CHECK(args.tau >= 0 && args.tau <= 1, "train_sac: --tau must be in [0, 1], got {}", args.tau);

  // Seeding: one generator per random stream of the run.
  const Generator run_gen(args.seed);
  Generator init_gen = run_gen.fork(0), policy_gen = run_gen.fork(1), sample_gen = run_gen.fork(2),
            explore_gen = run_gen.fork(4);

  envs::VectorEnv vec(
      [&]() -> envs::EnvPtr { return std::make_unique<envs::EpisodeStatistics>(make_env_or(make, args.env_id)); }, 1);
  const envs::Space& action_space = vec.action_space();
  GL_CHECK(!action_space.is_discrete() && !vec.observation_space().is_discrete(),
           "train_sac({}): needs box observation and action spaces, got {} and {}", args.env_id,
           vec.observation_space().str(), action_space.str());
  const int64_t obs_dim = vec.obs_dim(), A = action_space.dim();

  const std::vector<int64_t> hidden{args.hidden, args.hidden};
  SquashedGaussianActor actor(obs_dim, action_space, hidden, args.log_std_min, args.log_std_max, init_gen);
  QNetwork qf1(obs_dim, A, hidden, init_gen), qf2(obs_dim, A, hidden, init_gen);
  QNetwork qf1_target(obs_dim, A, hidden, init_gen), qf2_target(obs_dim, A, hidden, init_gen);
  qf1_target.load_state_dict(qf1.state_dict());
  qf2_target.load_state_dict(qf2.state_dict());
  const Device device = args.device;  // initialised on the CPU (the same weights everywhere), then moved
  for (nn::Module* m : std::initializer_list<nn::Module*>{&actor, &qf1, &qf2, &qf1_target, &qf2_target}) m->to(device);
  qf1_target.freeze();
  qf2_target.freeze();
  optim::Adam q_optimizer(joined(qf1.parameters(), qf2.parameters()), {.lr = args.q_lr});
  optim::Adam actor_optimizer(actor.parameters(), {.lr = args.policy_lr});

  // Automatic entropy tuning (docs/papers/rl-baselines.md): target entropy -|A|.
  const double target_entropy = -double(A);
  const Var log_alpha = Var::leaf(zeros({1}, DType::f32, device));
  optim::Adam alpha_optimizer({log_alpha}, {.lr = args.q_lr});
  // alpha stays on the device (0-d f64): the losses take it as a tensor, and
  // only the logged rows read it back.
  Tensor alpha = args.autotune ? sac_temperature(log_alpha) : full({}, args.alpha, DType::f64, device);

  // Never more room than the run can fill (the buffer is allocated up front).
  ReplayBuffer rb(std::min(args.buffer_size, args.total_timesteps), obs_dim, A, device);
  RunLog log(args.log_csv, fmt::format("{}__{}__{}", args.env_id, args.exp_name, args.seed), args.total_timesteps,
             args.progress_seconds);

  auto evaluate = [&]() {
    envs::EnvPtr env = make_env_or(make, args.env_id);
    auto act = [&](const std::vector<double>& obs) {
      NoGradGuard no_grad;
      return actor.deterministic(row_tensor(obs).to(device)).value().to_vector<double>();
    };
    return evaluate_policy(*env, act, args.eval_episodes, derive_seed(args.seed, 3));
  };

  TrainResult result;
  double recent_return = std::nan("");
  Tensor obs = vec.reset(args.seed);  // on the CPU: it goes to the replay ring there
  for (int64_t global_step = 0; global_step < args.total_timesteps; ++global_step) {
    // ---- act ----
    std::vector<double> action(static_cast<size_t>(A));
    if (global_step < args.learning_starts) {
      const std::vector<double> u = rand({A}, explore_gen, DType::f64).to_vector<double>();
      for (int64_t j = 0; j < A; ++j)
        action[size_t(j)] =
            action_space.low[size_t(j)] + (action_space.high[size_t(j)] - action_space.low[size_t(j)]) * u[size_t(j)];
    } else {
      NoGradGuard no_grad;
      // The step's crossings: the observation there, the action back.
      action = actor.sample(obs.to(device), policy_gen).action.value().to_vector<double>();
    }
    envs::VectorStep step = vec.step(std::vector<std::vector<double>>{action});
    if (step.episodes[0]) {
      const envs::Episode& ep = *step.episodes[0];
      result.episode_returns.emplace_back(double(global_step + 1), ep.episode_return);
      recent_return = ep.episode_return;
      log.row(global_step + 1, {{"episodic_return", ep.episode_return}, {"episodic_length", double(ep.length)}});
    }
    // The true next observation (the final one where the episode ended); only
    // termination stops the bootstrap.
    const std::vector<double> real_next_obs = step.done(0) ? step.final_obs[0] : step.obs.to_vector<double>();
    rb.add(obs.to_vector<double>(), action, step.rewards[0], real_next_obs, step.terminated[0]);
    obs = step.obs;

    // ---- learn ----
    if (global_step >= args.learning_starts) {
      const ReplayBuffer::Batch data = rb.sample(args.batch_size, sample_gen);
      Tensor target;
      {
        NoGradGuard no_grad;
        const nn::TanhGaussianSample next = actor.sample(data.next_obs, policy_gen);
        target = sac_critic_target(
            data.rewards, data.terminated, qf1_target.forward(data.next_obs, next.action).value(),
            qf2_target.forward(data.next_obs, next.action).value(), next.log_prob.value(), alpha, args.gamma);
      }
      const Var q1 = qf1.forward(data.obs, data.actions), q2 = qf2.forward(data.obs, data.actions);
      const Var qf1_loss = mse(q1, target), qf2_loss = mse(q2, target);
      const Var qf_loss = qf1_loss + qf2_loss;  // docs/papers/rl-baselines.md SAC.2: both critics, one target y
      // On the CPU the loss is checked before its backward; on a device,
      // where a read waits for the queue, when it is logged (every 100 steps).
      if (device == Device::cpu || global_step % 100 == 0) optim::check_finite_loss(qf_loss, "SAC critic", global_step);
      q_optimizer.zero_grad();
      qf_loss.backward();
      q_optimizer.step();

      Tensor actor_loss_v, alpha_loss_v;  // read only when logged
      if (global_step % args.policy_frequency == 0) {
        // Delayed actor updates, as many as the steps skipped (CleanRL's TD3-style compensation).
        for (int64_t k = 0; k < args.policy_frequency; ++k) {
          qf1.freeze();  // the actor's gradient flows through Q's input, not into Q's weights
          qf2.freeze();
          const nn::TanhGaussianSample pi = actor.sample(data.obs, policy_gen);
          const Var actor_loss =
              sac_actor_loss(pi.log_prob, qf1.forward(data.obs, pi.action), qf2.forward(data.obs, pi.action), alpha);
          actor_optimizer.zero_grad();
          actor_loss.backward();
          actor_optimizer.step();
          qf1.unfreeze();
          qf2.unfreeze();
          actor_loss_v = actor_loss.value();
          if (args.autotune) {
            Tensor log_prob;
            {
              NoGradGuard no_grad;
              log_prob = actor.sample(data.obs, policy_gen).log_prob.value();
            }
            const Var alpha_loss = sac_temperature_loss(log_alpha, log_prob, target_entropy);
            alpha_optimizer.zero_grad();
            alpha_loss.backward();
            alpha_optimizer.step();
            alpha = sac_temperature(log_alpha);
            alpha_loss_v = alpha_loss.value();
          }
        }
      }
      // Target networks: Polyak averaging, target = (1 - tau) target + tau online.
      if (global_step % args.target_network_frequency == 0) {
        optim::polyak_update(qf1_target.parameters(), qf1.parameters(), args.tau);
        optim::polyak_update(qf2_target.parameters(), qf2.parameters(), args.tau);
      }
      if (global_step % 100 == 0) {
        std::map<std::string, double> row = {{"losses/qf1_values", mean(q1.value()).item()},
                                             {"losses/qf2_values", mean(q2.value()).item()},
                                             {"losses/qf1_loss", qf1_loss.item()},
                                             {"losses/qf2_loss", qf2_loss.item()},
                                             {"losses/qf_loss", qf_loss.item() / 2.0},
                                             {"losses/alpha", alpha.item<double>()},
                                             {"SPS", log.sps(global_step + 1)}};
        if (actor_loss_v.defined()) row["losses/actor_loss"] = actor_loss_v.item();
        if (alpha_loss_v.defined()) row["losses/alpha_loss"] = alpha_loss_v.item();
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
