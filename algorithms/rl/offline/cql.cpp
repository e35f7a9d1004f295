// CQL(H), one file in the manner of CleanRL: the importance-sampled
// log-sum-exp (CQL.2), the conservative gap and penalty (CQL.1), the
// Lagrangian weight, and the offline loop on top of SACLearner.
// Equations: docs/papers/rl-baselines.md "CQL" and "SAC".
#include "algorithms/rl/offline/cql.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "algorithms/rl/rl_utils.h"
#include "envs/env.h"
#include "tensor/error.h"

namespace gradlab::rl {

Var cql_importance_sampled_logsumexp(const Var& q_uniform, double log_uniform_density, const Var& q_policy,
                                     const Tensor& log_policy, const Var& q_next_policy,
                                     const Tensor& log_next_policy) {
  GL_CHECK(q_uniform.dim() == 2 && q_policy.shape() == q_uniform.shape() &&
               q_next_policy.shape() == q_uniform.shape() && log_policy.shape() == q_uniform.shape() &&
               log_next_policy.shape() == q_uniform.shape(),
           "cql_importance_sampled_logsumexp: Q values and log densities must all be [B, N], got Q {}, {}, {} and log "
           "densities {}, {}",
           q_uniform.shape(), q_policy.shape(), q_next_policy.shape(), log_policy.shape(), log_next_policy.shape());
  GL_CHECK(std::isfinite(log_uniform_density),
           "cql_importance_sampled_logsumexp: the uniform log density must be finite, got {}", log_uniform_density);
  const int64_t N = q_uniform.size(1);
  // (CQL.2): the log-weights log(exp Q / proposal) of all 3N samples, per state
  const Var log_weights = concat(std::vector<Var>{q_uniform - log_uniform_density, q_policy - Var(log_policy),
                                                  q_next_policy - Var(log_next_policy)},
                                 1);
  // log of the mean weight: logsumexp - log(3N)
  return logsumexp(log_weights, {1}) - std::log(double(3 * N));
}

Var cql_gap(const Var& logsumexp, const Var& q_data) {
  GL_CHECK(logsumexp.dim() == 1 && q_data.shape() == logsumexp.shape(),
           "cql_gap: the log-sum-exp and Q(s, a_data) must both be [B], got {} and {}", logsumexp.shape(),
           q_data.shape());
  return mean(logsumexp - q_data);  // (CQL.1): E_s[log ∫ exp Q(s, a) da - E_{a~D} Q(s, a)]
}

Var cql_alpha_prime_loss(const Var& log_alpha_prime, const Tensor& gap, double target_gap, double alpha_prime_max) {
  GL_CHECK(log_alpha_prime.numel() == 1, "cql_alpha_prime_loss: log alpha' must hold one value, got {}",
           log_alpha_prime.shape());
  GL_CHECK(gap.defined() && gap.numel() == 1 && gap.dtype() == DType::f64 && gap.device() == log_alpha_prime.device(),
           "cql_alpha_prime_loss: the gap must be one f64 value on log alpha''s device ({}), got {} {} on {}",
           device_name(log_alpha_prime.device()), gap.defined() ? gap.shape() : Shape{},
           gap.defined() ? dtype_name(gap.dtype()) : "undefined", gap.defined() ? device_name(gap.device()) : "-");
  GL_CHECK(std::isfinite(target_gap) && alpha_prime_max > 0,
           "cql_alpha_prime_loss: the threshold ({}) must be finite and the maximum ({}) positive", target_gap,
           alpha_prime_max);
  // -alpha' (gap - tau): minimising raises alpha' while gap > tau
  const Tensor slope = neg(sub(gap.reshape({}), target_gap)).to(log_alpha_prime.dtype());
  return sum(clamp(exp(log_alpha_prime), 0.0, alpha_prime_max)) * Var(slope);
}
Var cql_alpha_prime_loss(const Var& log_alpha_prime, double gap, double target_gap, double alpha_prime_max) {
  GL_CHECK(std::isfinite(gap), "cql_alpha_prime_loss: the gap must be finite, got {}", gap);
  return cql_alpha_prime_loss(log_alpha_prime, full({}, gap, DType::f64, log_alpha_prime.device()), target_gap,
                              alpha_prime_max);
}

CQLPenalty::CQLPenalty(const envs::Space& actions, const CQLOptions& options, uint64_t seed)
    : options_(options),
      low_(actions.low),
      high_(actions.high),
      log_uniform_density_(0),
      gen_(Generator(seed).fork(7)),
      log_alpha_prime_(Var::leaf(full({1}, std::log(options.alpha_prime_init), DType::f32, options.device))),
      alpha_prime_optimizer_({log_alpha_prime_}, {.lr = options.alpha_prime_lr}),
      alpha_prime_check_("CQL alpha'", options.device) {
  GL_CHECK(!actions.is_discrete(), "CQLPenalty: needs a box action space, got {}", actions.str());
  GL_CHECK(options.num_samples > 0, "CQLPenalty: num_samples must be positive, got {}", options.num_samples);
  GL_CHECK(options.alpha >= 0 && std::isfinite(options.alpha), "CQLPenalty: alpha must be finite and >= 0, got {}",
           options.alpha);
  GL_CHECK(
      options.alpha_prime_init > 0 && options.alpha_prime_init <= options.alpha_prime_max &&
          options.alpha_prime_lr > 0 && std::isfinite(options.target_gap),
      "CQLPenalty: the Lagrangian needs 0 < alpha_prime_init ({}) <= alpha_prime_max ({}), alpha_prime_lr ({}) > 0 "
      "and a finite target_gap ({})",
      options.alpha_prime_init, options.alpha_prime_max, options.alpha_prime_lr, options.target_gap);
  for (size_t k = 0; k < low_.size(); ++k) {
    GL_CHECK(high_[k] > low_[k] && std::isfinite(high_[k] - low_[k]),
             "CQLPenalty: the action box must be bounded, dimension {} is [{}, {}]", k, low_[k], high_[k]);
    log_uniform_density_ -= std::log(high_[k] - low_[k]);  // log(1 / vol)
  }
}

Tensor CQLPenalty::alpha_prime() const {
  return clamp(exp(log_alpha_prime_.value().reshape({}).to(DType::f64)), 0.0, options_.alpha_prime_max);
}

double CQLPenalty::weight() const {
  if (!options_.lagrangian) return options_.alpha;
  return alpha_prime().item<double>();
}

void CQLPenalty::lagrange_update(const Tensor& mean_gap) {
  const Var loss = cql_alpha_prime_loss(log_alpha_prime_, mean_gap, options_.target_gap, options_.alpha_prime_max);
  alpha_prime_check_.check_finite(loss, lagrange_steps_++);
  alpha_prime_optimizer_.zero_grad();
  loss.backward();
  alpha_prime_optimizer_.step();
  if (lagrange_steps_ % 100 == 0) alpha_prime_check_.read();  // on a device; the CPU checked before the backward
}

double CQLPenalty::lagrange_step(double mean_gap) {
  GL_CHECK(std::isfinite(mean_gap), "CQLPenalty::lagrange_step: the mean gap must be finite, got {}", mean_gap);
  lagrange_update(full({}, mean_gap, DType::f64, options_.device));
  return weight();
}

Var CQLPenalty::operator()(const ReplayBuffer::Batch& batch, SACLearner& learner) {
  GL_CHECK(batch.obs.dim() == 2 && batch.actions.dim() == 2 && batch.actions.size(1) == int64_t(low_.size()) &&
               batch.next_obs.shape() == batch.obs.shape() && batch.actions.size(0) == batch.obs.size(0),
           "CQLPenalty: a batch of obs [B, O], next obs [B, O] and actions [B, {}] expected, got {}, {} and {}",
           low_.size(), batch.obs.shape(), batch.next_obs.shape(), batch.actions.shape());
  const int64_t B = batch.obs.size(0), O = batch.obs.size(1), A = batch.actions.size(1), N = options_.num_samples;
  const Device device = batch.obs.device();
  // every state repeated N times, row b * N + i: [B N, O]
  const Tensor obs_rep = batch.obs.unsqueeze(1).expand({B, N, O}).contiguous().reshape({B * N, O});
  const Tensor next_rep = batch.next_obs.unsqueeze(1).expand({B, N, O}).contiguous().reshape({B * N, O});
  Tensor uniform_actions, policy_actions, policy_log_prob, next_actions, next_log_prob;
  {
    NoGradGuard no_grad;
    std::vector<float> width, low;
    for (size_t k = 0; k < low_.size(); ++k) {
      width.push_back(float(high_[k] - low_[k]));
      low.push_back(float(low_[k]));
    }
    uniform_actions = add(mul(rand({B * N, A}, gen_, DType::f32, device), from_vector(width, {1, A}).to(device)),
                          from_vector(low, {1, A}).to(device));
    const nn::TanhGaussianSample at_s = learner.actor.sample(obs_rep, gen_);
    const nn::TanhGaussianSample at_next = learner.actor.sample(next_rep, gen_);
    policy_actions = at_s.action.value();
    policy_log_prob = at_s.log_prob.value().reshape({B, N});
    next_actions = at_next.action.value();
    next_log_prob = at_next.log_prob.value().reshape({B, N});
  }
  // all three proposals evaluated at s, one forward per critic: [3 B N] -> [3, B, N]
  const Tensor all_obs = concat(std::vector<Tensor>{obs_rep, obs_rep, obs_rep}, 0);
  const Tensor all_actions = concat(std::vector<Tensor>{uniform_actions, policy_actions, next_actions}, 0);
  auto logsumexp_of = [&](const QNetwork& q) {
    const Var q_all = reshape(q.forward(all_obs, all_actions), {3, B, N});
    return cql_importance_sampled_logsumexp(select(q_all, 0, 0), log_uniform_density_, select(q_all, 0, 1),
                                            policy_log_prob, select(q_all, 0, 2), next_log_prob);
  };
  const Var lse1 = logsumexp_of(learner.qf1), lse2 = logsumexp_of(learner.qf2);
  const Var gap1 = cql_gap(lse1, learner.qf1.forward(batch.obs, batch.actions));
  const Var gap2 = cql_gap(lse2, learner.qf2.forward(batch.obs, batch.actions));
  gap1_ = gap1.value();
  gap2_ = gap2.value();
  lse1_ = mean(lse1.value());
  lse2_ = mean(lse2.value());
  if (!options_.lagrangian) return options_.alpha * (gap1 + gap2);  // (CQL.1) with a fixed alpha: nothing read
  // The Lagrangian's step, on the device: alpha' before it weights the
  // penalty; the step takes the gaps' mean (f64, as host numbers would be).
  const Tensor weight_now = alpha_prime().to(gap1.dtype());
  lagrange_update(mul(add(gap1_.reshape({}).to(DType::f64), gap2_.reshape({}).to(DType::f64)), 0.5));
  return Var(weight_now) * ((gap1 - options_.target_gap) + (gap2 - options_.target_gap));
}

OfflineResult train_cql(const CQLArgs& args, const envs::Dataset& data) {
  GL_CHECK(args.gradient_steps > 0 && args.batch_size > 0 && args.eval_episodes > 0 && args.eval_every >= 0,
           "train_cql: gradient_steps ({}), batch_size ({}) and eval_episodes ({}) must be positive, eval_every ({}) "
           ">= 0",
           args.gradient_steps, args.batch_size, args.eval_episodes, args.eval_every);
  OfflineEvaluator evaluator("train_cql", args.exp_name, data, args.gradient_steps, args.eval_every, args.eval_episodes,
                             args.seed, args.progress_seconds);
  const envs::EnvPtr probe = envs::make_env(evaluator.env_id());
  const StateNormalizer norm =
      args.normalize_states ? StateNormalizer::fit(data) : StateNormalizer::identity(data.obs_dim());
  const ReplayBuffer buffer = dataset_buffer(data, args.device);
  SACLearnerOptions learner_options = args.learner;
  learner_options.device = args.device;
  auto learner = std::make_shared<SACLearner>(data.obs_dim(), probe->action_space(), learner_options, args.seed);
  CQLOptions cql_options = args.cql;
  cql_options.device = args.device;
  CQLPenalty penalty(probe->action_space(), cql_options, args.seed);
  const SACLearner::CriticRegulariser regulariser = [&](const ReplayBuffer::Batch& batch, SACLearner& l) {
    return penalty(batch, l);
  };
  Generator sample_gen = Generator(args.seed).fork(3);
  const auto act = [learner, norm](const std::vector<double>& obs) { return learner->act(norm.apply(obs), true); };
  for (int64_t step = 1; step <= args.gradient_steps; ++step) {
    // the critic loss (with the penalty) and the actor loss are checked for finiteness inside update
    learner->update(norm.apply(buffer.sample(args.batch_size, sample_gen)), regulariser);
    evaluator.after_step(step, act);
  }
  return evaluator.finish(act);
}

}  // namespace gradlab::rl
