// PPO with curiosity (docs/papers/rl-baselines.md: PPO, RND's two value heads and normalisation).
#include "algorithms/rl/curiosity/ppo_curiosity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "algorithms/rl/buffers.h"
#include "algorithms/rl/ppo.h"
#include "algorithms/rl/rl_utils.h"
#include "optim/clip.h"
#include "optim/finite.h"
#include "tensor/error.h"

namespace gradlab::rl::curiosity {

namespace {

nn::MLPOptions tanh_orthogonal(double output_gain, nn::Activation output = nn::Activation::none) {
  nn::MLPOptions o;
  o.activation = nn::Activation::tanh;
  o.output = output;
  o.init = "orthogonal";
  o.output_gain = output_gain;
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

PPOCuriosity::PPOCuriosity(int64_t obs_dim, int64_t n_actions, PPOCuriosityArgs args)
    : init_gen_(Generator(args.seed).fork(1)),
      actor({obs_dim, args.hidden, args.hidden, n_actions}, init_gen_, tanh_orthogonal(0.01)),
      critic_torso({obs_dim, args.hidden, args.hidden}, init_gen_,
                   tanh_orthogonal(std::sqrt(2.0), nn::Activation::tanh)),
      value_ext(args.hidden, init_gen_, {.orthogonal_gain = 1.0}),
      value_int(args.hidden, init_gen_, {.orthogonal_gain = 1.0}),
      args_(args),
      obs_dim_(obs_dim),
      n_actions_(n_actions),
      gen_(Generator(args.seed).fork(5)) {
  GL_CHECK(args.num_envs >= 1 && args.num_steps >= 1, "ppo_curiosity: num_envs and num_steps must be >= 1, got {} {}",
           args.num_envs, args.num_steps);
  GL_CHECK(args.num_minibatches >= 1 && args.num_minibatches <= args.num_envs * args.num_steps,
           "ppo_curiosity: num_minibatches must be in [1, {}], got {}", args.num_envs * args.num_steps,
           args.num_minibatches);
  if (args.method != "none") {
    args_.curiosity.obs_dim = obs_dim;
    args_.curiosity.n_actions = n_actions;
    args_.curiosity.device = args.device;
    intrinsic_ = make_intrinsic_reward(args.method, args_.curiosity, derive_seed(args.seed, 6));
  }
  for (nn::Module* m : std::vector<nn::Module*>{&actor, &critic_torso, &value_ext, &value_int})
    m->to(args.device);  // initialised on the CPU, then moved
  std::vector<Var> params = actor.parameters();
  for (const nn::Module* m : std::vector<const nn::Module*>{&critic_torso, &value_ext, &value_int})
    for (const Var& p : m->parameters()) params.push_back(p);
  adam_ = std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = args.learning_rate, .eps = 1e-5});
}

Tensor PPOCuriosity::act(const Tensor& obs, bool greedy) {
  NoGradGuard no_grad;
  const Var logits = actor(obs.to(args_.device));
  return (greedy ? nn::CategoricalHead::mode(logits) : nn::CategoricalHead::sample(logits, gen_)).to(Device::cpu);
}

int64_t curiosity_gradient_steps(const PPOCuriosityArgs& a, int64_t env_steps) {
  GL_CHECK(env_steps >= 0, "curiosity_gradient_steps: env_steps must be >= 0, got {}", env_steps);
  const int64_t batch = a.num_envs * a.num_steps;
  const int64_t rollouts = (env_steps + batch - 1) / batch;
  return rollouts * a.curiosity.epochs * std::min(a.curiosity.minibatches, batch);
}

int64_t ti_interval_for(int64_t gradient_steps, int64_t snapshots, double fraction) {
  GL_CHECK(snapshots >= 2, "ti_interval_for: snapshots (K) must be >= 2, got {}", snapshots);
  GL_CHECK(fraction >= 0 && fraction <= 1, "ti_interval_for: fraction must be in [0, 1], got {}", fraction);
  const double f = fraction > 0 ? fraction : 1.0 / (3.0 * double(snapshots - 1));
  return std::max<int64_t>(1, int64_t(std::floor(f * double(gradient_steps))));
}

TrainStats PPOCuriosity::train(envs::VectorEnv& vec, int64_t steps, uint64_t env_seed) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t N = args_.num_envs, T = args_.num_steps, D = obs_dim_;
  GL_CHECK(vec.num_envs() == N && vec.obs_dim() == D && vec.action_space().is_discrete() &&
               vec.action_space().n == n_actions_,
           "ppo_curiosity: the vector env has {} envs, obs dim {}, actions {}; the agent wants {} envs, obs dim {}, "
           "Discrete({})",
           vec.num_envs(), vec.obs_dim(), vec.action_space().str(), N, D, n_actions_);
  if (!int_filter_) int_filter_ = std::make_unique<RewardForwardFilter>(N, args_.gamma_int);
  TrainStats stats;
  const int64_t rollouts = (steps + N * T - 1) / (N * T);
  Tensor obs = vec.reset(env_seed);
  std::vector<double> running_return(size_t(N), 0.0);

  const Device device = args_.device;
  // log pi(a|s) of the agent's own actions (in [0, A) by construction, so
  // without nn::CategoricalHead's range check, which reads back to the host).
  auto log_prob = [](const Var& logits, const Tensor& actions) {
    return squeeze(gather(log_softmax(logits, 1), 1, actions.to(DType::i64).view({actions.numel(), 1})), 1);
  };
  for (int64_t rollout = 0; rollout < rollouts; ++rollout) {
    if (args_.anneal_lr) adam_->set_lr(args_.learning_rate * (1.0 - double(rollout) / double(rollouts)));
    // ---- collect T steps of N envs (row t N + i) ----
    std::vector<Tensor> obs_rows, next_rows, action_rows;
    std::vector<double> logp(size_t(T * N)), v_ext(size_t(T * N)), v_int(size_t(T * N)), r_ext(size_t(T * N));
    std::vector<uint8_t> terminated(size_t(T * N)), truncated(size_t(T * N));
    std::vector<double> bootstrap(size_t(T * N), 0.0);
    for (int64_t t = 0; t < T; ++t) {
      Tensor actions;
      {
        NoGradGuard no_grad;
        const Tensor obs_dev = obs.to(device);  // the step's batch crosses once
        const Var logits = actor(obs_dev);
        const Tensor sampled = nn::CategoricalHead::sample(logits, gen_);
        const Var h = critic_torso(obs_dev);
        // The step's one read: actions, log-probs and both values, [4, N] f64.
        const std::vector<double> r = concat({sampled.to(DType::f64), log_prob(logits, sampled).value().to(DType::f64),
                                              value_ext(h).value().to(DType::f64), value_int(h).value().to(DType::f64)})
                                          .to_vector<double>();
        std::vector<int64_t> a(size_t(N), 0);
        for (int64_t i = 0; i < N; ++i) {
          a[size_t(i)] = int64_t(r[size_t(i)]);
          logp[size_t(t * N + i)] = r[size_t(N + i)];
          v_ext[size_t(t * N + i)] = r[size_t(2 * N + i)];
          v_int[size_t(t * N + i)] = r[size_t(3 * N + i)];
        }
        actions = from_vector(a, {N});
      }
      const envs::VectorStep step = vec.step(actions);
      // The true next observation of each transition: the final one where an episode ended.
      Tensor next = step.obs.clone();
      std::vector<int64_t> trunc_rows;
      for (int64_t i = 0; i < N; ++i) {
        const size_t k = size_t(t * N + i);
        r_ext[k] = args_.use_extrinsic ? step.rewards[size_t(i)] : 0.0;
        terminated[k] = step.terminated[size_t(i)];
        truncated[k] = step.truncated[size_t(i)] && !step.terminated[size_t(i)];
        running_return[size_t(i)] += step.rewards[size_t(i)];
        if (step.done(i)) {
          next.select(0, i).copy_(from_vector(step.final_obs[size_t(i)], {D}));
          stats.episodes.push_back({stats.env_steps + (t + 1) * N, running_return[size_t(i)]});
          running_return[size_t(i)] = 0;
          if (truncated[k]) trunc_rows.push_back(i);
        }
      }
      if (!trunc_rows.empty()) {  // V_e(final obs) bootstraps through a time limit
        NoGradGuard no_grad;
        const Tensor idx = from_vector(trunc_rows, {int64_t(trunc_rows.size())});
        const std::vector<double> vb =
            value_ext(critic_torso(index_select(next, 0, idx).to(device))).value().to_vector<double>();
        for (size_t j = 0; j < trunc_rows.size(); ++j) bootstrap[size_t(t * N + trunc_rows[j])] = vb[j];
      }
      obs_rows.push_back(obs);
      next_rows.push_back(next);
      action_rows.push_back(actions);
      obs = step.obs;
    }
    stats.env_steps += T * N;
    // The rollout's batch crosses to the device once.
    const Tensor flat_obs = concat(obs_rows, 0).to(device), flat_next = concat(next_rows, 0).to(device);
    const Tensor flat_actions = concat(action_rows, 0).to(DType::i64).to(device);

    // ---- intrinsic rewards, normalised by the running std of the intrinsic return ----
    std::vector<double> r_int(size_t(T * N), 0.0);
    const TransitionBatch batch{flat_obs, flat_actions, flat_next};
    if (intrinsic_) {
      const auto t0 = std::chrono::steady_clock::now();
      r_int = intrinsic_->reward(batch).to_vector<double>();
      stats.curiosity_seconds += seconds_since(t0);
      double m = 0;
      for (double r : r_int) m += r / double(r_int.size());
      stats.mean_intrinsic_raw = m;
      if (args_.normalize_intrinsic) normalize_intrinsic_rewards(r_int, T, N, *int_filter_, int_return_stats_);
    }

    // ---- two GAE streams (docs/papers/rl-baselines.md): extrinsic episodic, intrinsic non-episodic ----
    std::vector<double> last_ext, last_int;
    {
      NoGradGuard no_grad;
      const Var h = critic_torso(obs.to(device));
      const std::vector<double> r =
          concat({value_ext(h).value().to(DType::f64), value_int(h).value().to(DType::f64)}).to_vector<double>();
      last_ext.assign(r.begin(), r.begin() + N);
      last_int.assign(r.begin() + N, r.end());
    }
    const std::vector<double> adv_ext =
        compute_gae(T, N, r_ext, v_ext, terminated, truncated, bootstrap, last_ext, args_.gamma_ext, args_.gae_lambda);
    const std::vector<uint8_t> never(size_t(T * N), 0);
    const std::vector<double> adv_int =
        compute_gae(T, N, r_int, v_int, never, never, bootstrap, last_int, args_.gamma_int, args_.gae_lambda);
    std::vector<double> adv(size_t(T * N)), ret_ext(size_t(T * N)), ret_int(size_t(T * N));
    for (size_t k = 0; k < adv.size(); ++k) {
      adv[k] = args_.ext_coef * adv_ext[k] + (intrinsic_ ? args_.int_coef * adv_int[k] : 0.0);  // A = 2 A_e + A_i
      ret_ext[k] = adv_ext[k] + v_ext[k];
      ret_int[k] = adv_int[k] + v_int[k];
    }
    auto on_device = [&](const std::vector<double>& v) { return from_vector(v, {T * N}).to(DType::f32).to(device); };
    const Tensor t_adv = on_device(adv), t_logp = on_device(logp);
    const Tensor t_ret_e = on_device(ret_ext), t_ret_i = on_device(ret_int);
    const Tensor t_v_e = on_device(v_ext), t_v_i = on_device(v_int);

    // ---- the curiosity module learns from the same rollout ----
    if (intrinsic_) {
      const auto t0 = std::chrono::steady_clock::now();
      intrinsic_->update(batch);
      stats.curiosity_seconds += seconds_since(t0);
    }

    // ---- PPO epochs (docs/papers/rl-baselines.md "PPO" objective) ----
    Tensor loss_sum = zeros({}, DType::f64, device);  // non-finite if any minibatch's loss was
    for (int64_t epoch = 0; epoch < args_.update_epochs; ++epoch) {
      for (const Tensor& host_idx : minibatch_indices(T * N, args_.num_minibatches, gen_)) {
        const Tensor idx = host_idx.to(device);
        const Tensor mb_obs = index_select(flat_obs, 0, idx);
        const Var logits = actor(mb_obs);
        const Var new_logp = log_prob(logits, index_select(flat_actions, 0, idx));
        const Tensor mb_adv = normalize_advantages(index_select(t_adv, 0, idx));
        const Var pg_loss = ppo_policy_loss(new_logp, index_select(t_logp, 0, idx), mb_adv, args_.clip_coef);
        const Var ent = mean(nn::CategoricalHead::entropy(logits));
        const Var h = critic_torso(mb_obs);
        Var v_loss = ppo_value_loss(value_ext(h), index_select(t_v_e, 0, idx), index_select(t_ret_e, 0, idx),
                                    args_.clip_coef, false);
        if (intrinsic_)
          v_loss = v_loss + ppo_value_loss(value_int(h), index_select(t_v_i, 0, idx), index_select(t_ret_i, 0, idx),
                                           args_.clip_coef, false);
        const Var loss = pg_loss - args_.ent_coef * ent + args_.vf_coef * v_loss;
        // On the CPU each loss is checked before its backward; on a device their sum, once per rollout.
        if (device == Device::cpu) optim::check_finite_loss(loss, "PPO (curiosity)", rollout);
        loss_sum = add(loss_sum, loss.value().to(DType::f64));
        adam_->zero_grad();
        loss.backward();
        optim::clip_grad_norm_on_device(adam_->params(), args_.max_grad_norm);
        adam_->step();
      }
    }
    if (device != Device::cpu)
      GL_CHECK(std::isfinite(loss_sum.item()),
               "PPO (curiosity): the loss is not finite in the update of rollout {} (on {}); lower the learning rate "
               "or check the inputs",
               rollout, device_name(device));
  }
  stats.seconds = seconds_since(start);
  return stats;
}

}  // namespace gradlab::rl::curiosity
