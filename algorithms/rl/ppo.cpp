// PPO, one file in the manner of CleanRL's ppo.py / ppo_continuous_action.py
// (arXiv 1707.06347; equations and constants in docs/papers/rl-baselines.md): the losses, the
// agent (separate actor and critic MLPs with orthogonal init), the rollout
// loop over a VectorEnv, and the update epochs over shuffled minibatches.
#include "algorithms/rl/ppo.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string_view>

#include "algorithms/rl/buffers.h"
#include "dist/data_parallel.h"
#include "envs/vector_env.h"
#include "envs/wrappers.h"
#include "nn/layers.h"
#include "nn/policy.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/finite.h"
#include "optim/schedule.h"
#include "tensor/error.h"

namespace gradlab::rl {

PPOArgs ppo_continuous_args() {
  PPOArgs a;
  a.env_id = "Pendulum-v1";
  a.total_timesteps = 1000000;
  a.learning_rate = 3e-4;
  a.num_envs = 1;
  a.num_steps = 2048;
  a.num_minibatches = 32;
  a.update_epochs = 10;
  a.ent_coef = 0.0;
  a.normalize_obs = true;
  a.normalize_reward = true;
  return a;
}

// ---------------------------------------------------------------- losses

namespace {

// The loss's inputs share one shape: [B] without a mask, the mask's with one.
void check_loss_inputs(std::string_view op, const char* names, const Shape& a, const Shape& b, const Shape& c,
                       const Tensor& mask) {
  if (!mask.defined()) {
    GL_CHECK(a.size() == 1 && b == a && c == a, "{}: {} must all be [B], got {}, {} and {}", op, names, a, b, c);
    return;
  }
  GL_CHECK(b == a && c == a && mask.shape() == a, "{}: {} must all have the mask's shape {}, got {}, {} and {}", op,
           names, mask.shape(), a, b, c);
}

// The denominator of a masked mean: the number of masked entries, at least 1
// (the caller's count when it gives one, checked to be at least 1).
double mask_count(const Tensor& mask, std::optional<double> given, std::string_view op) {
  if (!given) return std::max(1.0, sum(mask).item());
  GL_CHECK(*given >= 1, "{}: mask_count must be max(1, sum(mask)), got {}", op, *given);
  return *given;
}

}  // namespace

Var ppo_policy_loss(const Var& new_log_prob, const Tensor& old_log_prob, const Tensor& advantages, double clip_coef,
                    const Tensor& mask, std::optional<double> count) {
  check_loss_inputs("ppo_policy_loss", "new_log_prob, old_log_prob and advantages", new_log_prob.shape(),
                    old_log_prob.shape(), advantages.shape(), mask);
  GL_CHECK(clip_coef > 0, "ppo_policy_loss: clip_coef must be positive, got {}", clip_coef);
  const Var ratio = exp(new_log_prob - old_log_prob);  // rho = pi(a|s) / pi_old(a|s)
  const Var neg_adv = Var(neg(advantages));
  // docs/papers/rl-baselines.md PPO.2: E[min(rho A, clip(rho, 1 +- 0.2) A)], negated as max(-rho A, -clip(rho) A)
  const Var loss = maximum(neg_adv * ratio, neg_adv * clamp(ratio, 1.0 - clip_coef, 1.0 + clip_coef));
  if (!mask.defined()) return mean(loss);
  return sum(loss * Var(mask)) / mask_count(mask, count, "ppo_policy_loss");
}

Var ppo_value_loss(const Var& new_values, const Tensor& old_values, const Tensor& returns, double clip_coef, bool clip,
                   const Tensor& mask, std::optional<double> count) {
  check_loss_inputs("ppo_value_loss", "new_values, old_values and returns", new_values.shape(), old_values.shape(),
                    returns.shape(), mask);
  Var loss = square(new_values - returns);
  if (clip) {
    GL_CHECK(clip_coef > 0, "ppo_value_loss: clip_coef must be positive, got {}", clip_coef);
    const Var clipped = Var(old_values) + clamp(new_values - old_values, -clip_coef, clip_coef);
    // docs/papers/rl-baselines.md "PPO" objective, value term with CleanRL's clipping: max((V - R)^2, (V_clip - R)^2)
    loss = maximum(loss, square(clipped - returns));
  }
  // docs/papers/rl-baselines.md "PPO" objective: 0.5 (V - R)^2 (clipped or not)
  if (!mask.defined()) return 0.5 * mean(loss);
  return 0.5 * sum(loss * Var(mask)) / mask_count(mask, count, "ppo_value_loss");
}

Tensor normalize_advantages(const Tensor& advantages) {
  GL_CHECK(advantages.dim() == 1 && advantages.numel() >= 2,
           "normalize_advantages: need a [B] tensor with B >= 2, got {}", advantages.shape());
  return div(sub(advantages, mean(advantages)), add(sqrt(var(advantages)), 1e-8));
}

// ---------------------------------------------------------------- agent

namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 log(2 pi)

// CleanRL's Agent: critic and actor are separate 64-64 tanh MLPs with
// orthogonal init (gain sqrt 2; 1 for the value output, 0.01 for the policy
// output); a continuous actor adds a state-free log-std, initialised to 0.
class PPOAgent : public nn::Module {
 public:
  PPOAgent(int64_t obs_dim, const envs::Space& actions, int64_t hidden, Generator& gen)
      : discrete_(actions.is_discrete()), A_(actions.is_discrete() ? actions.n : actions.dim()) {
    const auto options = [](double output_gain) {
      return nn::MLPOptions{.activation = nn::Activation::tanh,
                            .init = "orthogonal",
                            .gain = std::numbers::sqrt2,
                            .output_gain = output_gain};
    };
    critic = register_module(
        "critic", std::make_shared<nn::MLP>(std::vector<int64_t>{obs_dim, hidden, hidden, 1}, gen, options(1.0)));
    actor = register_module(
        "actor", std::make_shared<nn::MLP>(std::vector<int64_t>{obs_dim, hidden, hidden, A_}, gen, options(0.01)));
    if (!discrete_) actor_logstd = register_parameter("actor_logstd", zeros({1, A_}));
  }

  Var value(const Var& obs) const { return squeeze(critic->forward(obs), 1); }  // [N]
  // Logits [N, A] (discrete) or the Gaussian mean [N, A] (continuous).
  Var policy(const Var& obs) const { return actor->forward(obs); }

  // actions: the agent's own samples (rollout and update alike), in [0, A)
  // by construction, so the discrete case skips nn::CategoricalHead's range
  // check, which reads min and max back to the host.
  Var log_prob(const Var& out, const Tensor& actions) const {
    if (discrete_) {
      const int64_t N = out.size(0);
      GL_CHECK(actions.shape() == Shape{N} && is_integral(actions.dtype()),
               "PPOAgent::log_prob: expected [{}] integer actions, got {} {}", N, actions.dtype(), actions.shape());
      return squeeze(gather(log_softmax(out, 1), 1, actions.to(DType::i64).view({N, 1})), 1);
    }
    // log N(a; mean, std^2) summed over the action dims
    const Var z = (Var(actions) - out) * exp(-actor_logstd);
    return sum(-0.5 * square(z) - actor_logstd - kHalfLog2Pi, {1});
  }
  // [N] (discrete) or [1] (continuous: the same for every state); used through its mean.
  Var entropy(const Var& out) const {
    if (discrete_) return nn::CategoricalHead::entropy(out);
    return sum(actor_logstd + (0.5 + kHalfLog2Pi), {1});
  }
  Tensor sample(const Var& out, Generator& gen) const {
    if (discrete_) return nn::CategoricalHead::sample(out, gen);
    // Drawn on out's device: the same numbers as on the CPU (tensor/random.h).
    return add(out.value(), mul(exp(actor_logstd.value()), randn(out.shape(), gen, DType::f32, out.device())));
  }
  Tensor greedy(const Var& out) const { return discrete_ ? nn::CategoricalHead::mode(out) : out.value(); }
  bool discrete() const { return discrete_; }
  int64_t action_dim() const { return discrete_ ? 1 : A_; }

  std::shared_ptr<nn::MLP> critic, actor;
  Var actor_logstd;

 private:
  bool discrete_;
  int64_t A_;
};

Tensor row_tensor(const std::vector<double>& x, Device device) {
  std::vector<float> f(x.begin(), x.end());
  return from_vector(f, {1, int64_t(x.size())}).to(device);
}

}  // namespace

// ---------------------------------------------------------------- training

TrainResult train_ppo(const PPOArgs& args, const EnvFactory& make) {
  const int64_t N = args.num_envs, T = args.num_steps;
  GL_CHECK(N > 0 && T > 0, "train_ppo: --num-envs and --num-steps must be positive, got {} and {}", N, T);
  const int64_t batch_size = N * T;
  GL_CHECK(args.num_minibatches > 0 && batch_size % args.num_minibatches == 0,
           "train_ppo: the batch ({} envs x {} steps = {}) must split into --num-minibatches {} equal parts", N, T,
           batch_size, args.num_minibatches);
  const int64_t minibatch_size = batch_size / args.num_minibatches;
  const int64_t num_iterations = args.total_timesteps / batch_size;
  GL_CHECK(num_iterations > 0, "train_ppo: --total-timesteps {} is less than one rollout ({} steps)",
           args.total_timesteps, batch_size);
  GL_CHECK(args.update_epochs > 0 && args.eval_episodes > 0 && args.hidden > 0,
           "train_ppo: --update-epochs, --eval-episodes and --hidden must be positive, got {}, {} and {}",
           args.update_epochs, args.eval_episodes, args.hidden);

  // Data-parallel: rank 0 keeps the single-process streams; rank r > 0 acts
  // and resets its envs from streams of its own.
  const int rank = args.communicator ? args.communicator->rank() : 0;
  const int world = args.communicator ? args.communicator->world_size() : 1;
  // Seeding: each random stream of the run has its own generator.
  const Generator run_gen(args.seed);
  Generator init_gen = run_gen.fork(0), action_gen = run_gen.fork(rank == 0 ? 1 : 100 + rank),
            shuffle_gen = run_gen.fork(2);

  // Env setup, in CleanRL's wrapper order: statistics of the raw episode first.
  auto make_train_env = [&]() {
    envs::EnvPtr env = make_env_or(make, args.env_id);
    env = std::make_unique<envs::EpisodeStatistics>(std::move(env));
    if (!env->action_space().is_discrete()) env = std::make_unique<envs::ClipAction>(std::move(env));
    if (args.normalize_obs) env = std::make_unique<envs::NormalizeObservation>(std::move(env), 1e-8, args.obs_clip);
    if (args.normalize_reward)
      env = std::make_unique<envs::NormalizeReward>(std::move(env), args.gamma, 1e-8, args.reward_clip);
    return env;
  };
  envs::VectorEnv vec(make_train_env, N);
  GL_CHECK(!vec.observation_space().is_discrete(), "train_ppo({}): needs a box observation space, got {}", args.env_id,
           vec.observation_space().str());
  const int64_t obs_dim = vec.obs_dim();

  const Device device = args.device;
  PPOAgent agent(obs_dim, vec.action_space(), args.hidden, init_gen);  // initialised on the CPU, then moved
  agent.to(device);
  optim::Adam optimizer(agent.parameters(), {.lr = args.learning_rate, .eps = 1e-5});
  std::unique_ptr<dist::DataParallel> ddp;  // broadcasts rank 0's weights
  if (world > 1) ddp = std::make_unique<dist::DataParallel>(*args.communicator, agent.parameters());
  const optim::LinearDecay anneal(num_iterations);
  RolloutStorage storage(T, N, obs_dim, agent.action_dim(), device);
  RunLog log(args.log_csv, fmt::format("{}__{}__{}", args.env_id, args.exp_name, args.seed), args.total_timesteps,
             args.progress_seconds);

  // The greedy policy on a fresh env; with observation normalisation, env 0's
  // statistics, frozen.
  auto evaluate = [&]() {
    envs::EnvPtr env = make_env_or(make, args.env_id);
    if (!env->action_space().is_discrete()) env = std::make_unique<envs::ClipAction>(std::move(env));
    if (args.normalize_obs) {
      auto norm = std::make_unique<envs::NormalizeObservation>(std::move(env), 1e-8, args.obs_clip);
      norm->rms = envs::find_wrapper<envs::NormalizeObservation>(vec.env(0))->rms;
      norm->frozen = true;
      env = std::move(norm);
    }
    auto act = [&](const std::vector<double>& obs) {
      NoGradGuard no_grad;
      return agent.greedy(agent.policy(row_tensor(obs, device))).to_vector<double>();
    };
    return evaluate_policy(*env, act, args.eval_episodes, derive_seed(args.seed, 3));
  };

  TrainResult result;
  double recent_return = std::nan("");
  int64_t global_step = 0;
  // next_obs lives on the device: the env's batch crosses once per step.
  Tensor next_obs = vec.reset(rank == 0 ? args.seed : derive_seed(args.seed, 200 + rank)).to(device);
  for (int64_t iteration = 1; iteration <= num_iterations; ++iteration) {
    // CleanRL: lr = (1 - (iteration - 1) / num_iterations) lr0
    if (args.anneal_lr) optimizer.set_lr(args.learning_rate * anneal(iteration - 1));

    // ---- rollout: T steps of N envs, acting under no_grad ----
    for (int64_t t = 0; t < T; ++t) {
      global_step += N;
      const Tensor obs = next_obs;
      Tensor action, log_prob, value;
      {
        NoGradGuard no_grad;
        const Var out = agent.policy(obs);
        action = agent.sample(out, action_gen);
        log_prob = agent.log_prob(out, action).value();
        value = agent.value(obs).value();
      }
      envs::VectorStep step = vec.step(action.to(Device::cpu));  // the step's one read: the actions
      std::vector<uint8_t> terminated = step.terminated, truncated = step.truncated;
      if (!args.bootstrap_truncation)
        for (int64_t i = 0; i < N; ++i)
          if (truncated[size_t(i)] && !terminated[size_t(i)]) {
            terminated[size_t(i)] = 1;  // CleanRL's behaviour: a truncation ends the return like a termination
            truncated[size_t(i)] = 0;
          }
      storage.add(t, obs, action, log_prob, value, step.rewards, terminated, truncated);
      for (int64_t i = 0; i < N; ++i) {
        if (!truncated[size_t(i)] || terminated[size_t(i)]) continue;
        NoGradGuard no_grad;  // V(final obs), left on the device: read with the rollout's values
        storage.set_bootstrap(t, i, agent.value(row_tensor(step.final_obs[size_t(i)], device)).value());
      }
      for (int64_t i = 0; i < N; ++i) {
        if (!step.episodes[size_t(i)]) continue;
        const envs::Episode& ep = *step.episodes[size_t(i)];
        result.episode_returns.emplace_back(double(global_step), ep.episode_return);
        recent_return = ep.episode_return;
        log.row(global_step, {{"episodic_return", ep.episode_return}, {"episodic_length", double(ep.length)}});
      }
      next_obs = step.obs.to(device);
    }

    // ---- advantages: GAE over the rollout ----
    {
      NoGradGuard no_grad;
      storage.compute_returns(agent.value(next_obs).value(), args.gamma, args.gae_lambda);
    }
    const RolloutStorage::Flat b = storage.flat(agent.discrete());

    // ---- update: epochs of shuffled minibatches ----
    // The logged scalars stay on the device (f64 0-d tensors, sums in the
    // order the host would add them) and are read once, after the update.
    Tensor pg_loss_v, v_loss_v, entropy_v, approx_kl;
    Tensor old_kl = zeros({}, DType::f64, device), clipfrac_sum = zeros({}, DType::f64, device);
    Tensor loss_sum = zeros({}, DType::f64, device);  // non-finite if any minibatch's loss was
    int64_t minibatches = 0;
    for (int64_t epoch = 0; epoch < args.update_epochs; ++epoch) {
      const Tensor order = randperm(batch_size, shuffle_gen).to(device);  // drawn on the host, as on the CPU
      for (int64_t start = 0; start < batch_size; start += minibatch_size) {
        const Tensor idx = order.slice(0, start, start + minibatch_size).contiguous();
        const Tensor mb_obs = index_select(b.obs, 0, idx), mb_actions = index_select(b.actions, 0, idx);
        const Tensor mb_log_probs = index_select(b.log_probs, 0, idx), mb_values = index_select(b.values, 0, idx);
        const Tensor mb_returns = index_select(b.returns, 0, idx);
        Tensor mb_adv = index_select(b.advantages, 0, idx);

        const Var out = agent.policy(mb_obs);
        const Var new_log_prob = agent.log_prob(out, mb_actions);
        const Var entropy = agent.entropy(out);
        const Var new_value = agent.value(mb_obs);
        {
          const Tensor log_ratio = sub(new_log_prob.value(), mb_log_probs), ratio = exp(log_ratio);
          // CleanRL's diagnostics: the naive and the unbiased KL estimate, the fraction clipped
          old_kl = add(old_kl, mean(neg(log_ratio)).to(DType::f64));
          approx_kl = mean(sub(sub(ratio, 1.0), log_ratio)).to(DType::f64);
          clipfrac_sum =
              add(clipfrac_sum, mean(gt(abs(sub(ratio, 1.0)), args.clip_coef).to(DType::f32)).to(DType::f64));
        }
        if (args.norm_adv) mb_adv = normalize_advantages(mb_adv);
        const Var pg_loss = ppo_policy_loss(new_log_prob, mb_log_probs, mb_adv, args.clip_coef);
        const Var v_loss = ppo_value_loss(new_value, mb_values, mb_returns, args.clip_coef, args.clip_vloss);
        const Var entropy_loss = mean(entropy);
        // docs/papers/rl-baselines.md "PPO" objective: maximise surrogate - 0.5 (V - R)^2 + 0.01 H, i.e. minimise
        const Var loss = pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss;

        // On the CPU the loss is checked before its backward (a read costs
        // nothing there); on a device its sum is checked once per update.
        if (device == Device::cpu) optim::check_finite_loss(loss, "PPO", iteration);
        loss_sum = add(loss_sum, loss.value().to(DType::f64));
        optimizer.zero_grad();
        loss.backward();
        if (ddp) ddp->synchronize();  // the mean over the ranks' minibatches
        optim::clip_grad_norm_on_device(optimizer.params(), args.max_grad_norm);
        optimizer.step();
        pg_loss_v = pg_loss.value().to(DType::f64);
        v_loss_v = v_loss.value().to(DType::f64);
        entropy_v = entropy_loss.value().to(DType::f64);
        ++minibatches;
      }
      if (args.target_kl > 0) {  // the early stop reads approx_kl once per epoch
        if (ddp) {               // every rank must stop at the same epoch
          Tensor kl = approx_kl.to(Device::cpu).clone();
          args.communicator->all_reduce(kl, dist::ReduceOp::mean);
          approx_kl = kl.to(device);
        }
        if (approx_kl.item() > args.target_kl) break;
      }
    }

    // explained variance of the value predictions: 1 - Var(R - V) / Var(R)
    // The update's one read: the logged scalars, the variances and the loss check.
    const std::vector<double> logged =
        concat({pg_loss_v.reshape({1}), v_loss_v.reshape({1}), entropy_v.reshape({1}), old_kl.reshape({1}),
                approx_kl.reshape({1}), clipfrac_sum.reshape({1}), loss_sum.reshape({1}),
                var(b.returns, {}, false, 0).to(DType::f64).reshape({1}),
                var(sub(b.returns, b.values), {}, false, 0).to(DType::f64).reshape({1})})
            .to_vector<double>();
    GL_CHECK(std::isfinite(logged[6]),
             "PPO: the loss is not finite in the update of iteration {} (on {}); lower the "
             "learning rate or check the inputs",
             iteration, device_name(device));
    const double var_returns = logged[7];
    const double explained_var = var_returns == 0 ? std::nan("") : 1.0 - logged[8] / var_returns;
    log.row(global_step, {{"learning_rate", optimizer.lr()},
                          {"losses/value_loss", logged[1]},
                          {"losses/policy_loss", logged[0]},
                          {"losses/entropy", logged[2]},
                          {"losses/old_approx_kl", logged[3] / double(minibatches)},
                          {"losses/approx_kl", logged[4]},
                          {"losses/clipfrac", logged[5] / double(minibatches)},
                          {"losses/explained_variance", explained_var},
                          {"SPS", log.sps(global_step)}});
    log.progress(global_step, recent_return);

    const bool last = iteration == num_iterations;
    if (args.eval_every > 0 && !last && global_step / args.eval_every != (global_step - batch_size) / args.eval_every)
      record_evaluation(result, log, global_step, evaluate().mean_return);
  }
  finish_run(result, log, global_step, recent_return, evaluate);
  return result;
}

}  // namespace gradlab::rl
