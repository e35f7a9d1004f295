// TD3+BC, one file in the manner of CleanRL: the actor loss, the learner
// (TD3's critic update with target smoothing, the delayed actor with the
// behaviour-cloning term, Polyak targets) and the offline loop: sample a batch
// of the standardised dataset, update, evaluate in the true env.
// Equations: docs/papers/rl-baselines.md "TD3+BC" and "TD3".
#include "algorithms/rl/offline/td3_bc.h"

#include <fmt/format.h>

#include <cmath>
#include <initializer_list>
#include <memory>
#include <vector>

#include "algorithms/rl/rl_utils.h"
#include "algorithms/rl/td3.h"
#include "envs/env.h"
#include "optim/polyak.h"
#include "tensor/error.h"

namespace gradlab::rl {

Var td3bc_actor_loss(const Var& q_pi, const Var& pi, const Tensor& data_actions, double alpha, double bc_weight) {
  GL_CHECK(q_pi.dim() == 1 && pi.dim() == 2 && pi.size(0) == q_pi.size(0) && data_actions.shape() == pi.shape(),
           "td3bc_actor_loss: q_pi [B], pi [B, A] and data actions [B, A] expected, got {}, {} and {}", q_pi.shape(),
           pi.shape(), data_actions.shape());
  // lambda = alpha / mean|Q|, held constant (f64, on Q's device: no read)
  const Tensor lambda =
      div(scalar(alpha, DType::f64, q_pi.device()), maximum(mean(abs(q_pi.value())).to(DType::f64), 1e-6));
  // -lambda mean Q(s, pi(s)) + mean (pi(s) - a)^2
  return Var(neg(lambda).to(q_pi.dtype())) * mean(q_pi) + bc_weight * mse(pi, data_actions);
}

TD3BCLearner::TD3BCLearner(int64_t obs_dim, const envs::Space& actions, const TD3BCLearnerOptions& options,
                           uint64_t seed)
    : init_gen(Generator(seed).fork(0)),
      actor(obs_dim, actions, options.hidden, init_gen),
      actor_target(obs_dim, actions, options.hidden, init_gen),
      qf1(obs_dim, actions.dim(), options.hidden, init_gen),
      qf2(obs_dim, actions.dim(), options.hidden, init_gen),
      qf1_target(obs_dim, actions.dim(), options.hidden, init_gen),
      qf2_target(obs_dim, actions.dim(), options.hidden, init_gen),
      options_(options),
      low_(actions.low),
      high_(actions.high),
      noise_gen_(Generator(seed).fork(2)),
      critic_check_("TD3+BC critic", options.device),
      actor_check_("TD3+BC actor", options.device) {
  GL_CHECK(!actions.is_discrete(), "TD3BCLearner: needs a box action space, got {}", actions.str());
  GL_CHECK(options.policy_frequency > 0, "TD3BCLearner: policy_frequency must be positive, got {}",
           options.policy_frequency);
  for (size_t j = 0; j < low_.size(); ++j) scale_.push_back((high_[j] - low_[j]) / 2);
  actor_target.load_state_dict(actor.state_dict());
  qf1_target.load_state_dict(qf1.state_dict());
  qf2_target.load_state_dict(qf2.state_dict());
  // Initialised on the CPU (the same weights on every device), then moved.
  for (nn::Module* m : std::initializer_list<nn::Module*>{&actor, &actor_target, &qf1, &qf2, &qf1_target, &qf2_target})
    m->to(options.device);
  q_optimizer_ = std::make_unique<optim::Adam>(joined(qf1.parameters(), qf2.parameters()),
                                               optim::AdamOptions{.lr = options.critic_lr});
  actor_optimizer_ = std::make_unique<optim::Adam>(actor.parameters(), optim::AdamOptions{.lr = options.actor_lr});
  actor_target.freeze();
  qf1_target.freeze();
  qf2_target.freeze();
}

void TD3BCLearner::update(const ReplayBuffer::Batch& data) {
  Tensor target;
  {
    NoGradGuard no_grad;
    // target smoothing: a~ = clip(pi'(s') + clip(eps, -c, c) scale, low, high), eps ~ N(0, sigma^2)
    const Tensor eps =
        mul(randn(data.actions.shape(), noise_gen_, DType::f32, data.actions.device()), options_.policy_noise);
    const Tensor next_action = td3_smoothed_target_action(actor_target.forward(data.next_obs).value(), eps,
                                                          options_.noise_clip, scale_, low_, high_);
    target = td3_critic_target(data.rewards, data.terminated, qf1_target.forward(data.next_obs, next_action).value(),
                               qf2_target.forward(data.next_obs, next_action).value(), options_.gamma);
  }
  const Var q1 = qf1.forward(data.obs, data.actions), q2 = qf2.forward(data.obs, data.actions);
  const Var critic_loss = mse(q1, target) + mse(q2, target);
  critic_check_.check_finite(critic_loss, updates_);
  q_optimizer_->zero_grad();
  critic_loss.backward();
  q_optimizer_->step();
  last_critic_loss_ = critic_loss.value();
  last_q_mean_ = mean(q1.value());
  last_actor_loss_ = Tensor();

  if (updates_ % options_.policy_frequency == 0) {
    qf1.freeze();
    const Var pi = actor.forward(data.obs);
    const Var actor_loss =
        td3bc_actor_loss(qf1.forward(data.obs, pi), pi, data.actions, options_.alpha, options_.bc_weight);
    actor_check_.check_finite(actor_loss, updates_);
    actor_optimizer_->zero_grad();
    actor_loss.backward();
    actor_optimizer_->step();
    qf1.unfreeze();
    last_actor_loss_ = actor_loss.value();
    optim::polyak_update(actor_target.parameters(), actor.parameters(), options_.tau);
    optim::polyak_update(qf1_target.parameters(), qf1.parameters(), options_.tau);
    optim::polyak_update(qf2_target.parameters(), qf2.parameters(), options_.tau);
  }
  ++updates_;
  if (updates_ % kUpdatesPerCheck == 0) {  // on a device, the finite checks of the last kUpdatesPerCheck updates
    critic_check_.read();
    actor_check_.read();
  }
}

TD3BCLearner::Stats TD3BCLearner::stats() const {
  GL_CHECK(updates_ > 0, "TD3BCLearner::stats: no update yet");
  std::vector<Tensor> parts{last_critic_loss_.reshape({1}).to(DType::f64), last_q_mean_.reshape({1}).to(DType::f64)};
  if (last_actor_loss_.defined()) parts.push_back(last_actor_loss_.reshape({1}).to(DType::f64));
  const std::vector<double> v = concat(parts).to_vector<double>();
  return {.critic_loss = v[0], .actor_loss = v.size() > 2 ? v[2] : std::nan(""), .q_mean = v[1]};
}

Tensor TD3BCLearner::act(const Tensor& obs) const {
  NoGradGuard no_grad;
  return actor.forward(obs).value();
}

std::vector<double> TD3BCLearner::act(const std::vector<double>& obs) const {
  return act(row_tensor(obs).to(options_.device)).to_vector<double>();
}

Tensor TD3BCLearner::act_noisy(const Tensor& obs, double std, Generator& gen) const {
  const Tensor mu = act(obs);
  const int64_t A = mu.size(1);
  std::vector<float> scale, low, high;
  for (int64_t j = 0; j < A; ++j) {
    scale.push_back(float(scale_[size_t(j)] * std));
    low.push_back(float(low_[size_t(j)]));
    high.push_back(float(high_[size_t(j)]));
  }
  const Device d = mu.device();
  const Tensor noisy = add(mu, mul(randn(mu.shape(), gen, DType::f32, d), from_vector(scale, {1, A}).to(d)));
  return minimum(maximum(noisy, from_vector(low, {1, A}).to(d)), from_vector(high, {1, A}).to(d));
}

OfflineResult train_td3_bc(const TD3BCArgs& args, const envs::Dataset& data) {
  GL_CHECK(args.batch_size > 0, "train_td3_bc: batch_size must be positive, got {}", args.batch_size);
  OfflineEvaluator evaluator("train_td3_bc", args.exp_name, data, args.gradient_steps, args.eval_every,
                             args.eval_episodes, args.seed, args.progress_seconds);
  const envs::EnvPtr probe = envs::make_env(evaluator.env_id());
  const StateNormalizer norm =
      args.normalize_states ? StateNormalizer::fit(data) : StateNormalizer::identity(data.obs_dim());
  const ReplayBuffer buffer = dataset_buffer(data, args.device);
  TD3BCLearnerOptions learner_options = args.learner;
  learner_options.device = args.device;
  auto learner = std::make_shared<TD3BCLearner>(data.obs_dim(), probe->action_space(), learner_options, args.seed);
  Generator sample_gen = Generator(args.seed).fork(3);
  const auto act = [learner, norm](const std::vector<double>& obs) { return learner->act(norm.apply(obs)); };
  for (int64_t step = 1; step <= args.gradient_steps; ++step) {
    learner->update(norm.apply(buffer.sample(args.batch_size, sample_gen)));
    evaluator.after_step(step, act);
  }
  return evaluator.finish(act);
}

}  // namespace gradlab::rl
