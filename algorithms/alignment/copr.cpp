// COPR: the optimal policy over each candidate set, the moderate reward, the
// MSE fit, the per-task constraints and the Lagrangian (equations in copr.h).
#include "algorithms/alignment/copr.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optim/clip.h"
#include "optim/step_tally.h"
#include "tensor/backend.h"
#include "tensor/error.h"

namespace gradlab::alignment {

namespace pref = envs::preference;

double sample_moderate_scale(int64_t J, Generator& gen) {
  GL_CHECK(J >= 2, "sample_moderate_scale: J must be >= 2, got {}", J);
  std::vector<double> u(static_cast<size_t>(J));
  for (double& v : u) v = pref::uniform01(gen);
  std::sort(u.begin(), u.end());
  return u[size_t(J - 2)];  // the (J-1)-th smallest of J uniforms ~ Beta(J-1, 2)
}

std::vector<double> moderate_advantages(int64_t J, double r_x) {
  GL_CHECK(J >= 2 && r_x >= 0 && r_x <= 1,
           "moderate_advantages: J must be >= 2 and r_x in [0, 1], got J = {}, r_x = {}", J, r_x);
  std::vector<double> adv;
  const double Jd = double(J);
  for (int64_t k = 0; k < J; ++k) {
    const double j = Jd - double(k);                                // best first: entry 0 has rank J
    adv.push_back(r_x * (2 * j / (Jd - 1) - (Jd + 1) / (Jd - 1)));  // Adv = r_x (2j/(J-1) - (J+1)/(J-1))
  }
  return adv;
}

Tensor optimal_policy_logprobs(const Tensor& prev_logprobs, const Tensor& advantages, double beta) {
  GL_CHECK(prev_logprobs.dim() == 2 && advantages.shape() == prev_logprobs.shape(),
           "optimal_policy_logprobs: expected [B, J] log-probs and advantages, got {} and {}", prev_logprobs.shape(),
           advantages.shape());
  GL_CHECK(beta > 0, "optimal_policy_logprobs: beta must be positive, got {}", beta);
  // log P* = log pi_{t-1} + Adv/beta - logsumexp over the candidates (the partition function never appears)
  return log_softmax(add(prev_logprobs, div(advantages.to(prev_logprobs.dtype()), beta)), 1);
}

Var candidate_log_distribution(const Var& logprobs) {
  GL_CHECK(logprobs.dim() == 2, "candidate_log_distribution: expected [B, J] log-probs, got {}", logprobs.shape());
  return log_softmax(logprobs, 1);  // log P_theta(y|Y_x) = log pi(y|x) - logsumexp_{Y_x} log pi
}

Var fit_loss(const Var& log_p_theta, const Tensor& log_p_star, FitLoss kind) {
  GL_CHECK(log_p_theta.dim() == 2 && log_p_star.shape() == log_p_theta.shape(),
           "fit_loss: expected [B, J] log-distributions, got {} and {}", log_p_theta.shape(), log_p_star.shape());
  const Var target(log_p_star.to(log_p_theta.dtype()));
  if (kind == FitLoss::mse) return mean(square(log_p_theta - target));  // E_x (1/|Y_x|) sum_y (log P_theta - log P*)^2
  return mean(sum(exp(target) * (target - log_p_theta), {1}));          // E_x sum_y P* (log P* - log P_theta)
}

Var candidate_logprobs(const nn::GPT& model, const std::vector<Ranking>& sets, const std::vector<int64_t>& index,
                       bool mean_logprob) {
  GL_CHECK(!index.empty(), "candidate_logprobs: no candidate sets");
  const int64_t J = int64_t(sets[size_t(index.front())].responses.size());
  std::vector<Tokens> x, y;
  for (int64_t i : index) {
    GL_CHECK(i >= 0 && i < int64_t(sets.size()), "candidate_logprobs: index {} out of {} sets", i, sets.size());
    const Ranking& r = sets[size_t(i)];
    GL_CHECK(int64_t(r.responses.size()) == J, "candidate_logprobs: set {} has {} candidates, the first has {}", i,
             r.responses.size(), J);
    for (const Tokens& response : r.responses) {
      x.push_back(r.prompt);
      y.push_back(response);
    }
  }
  const SequenceBatch b = make_batch(x, y, model.device());
  const nn::GPT::SequenceLogprob lp = model.sequence_logprob(b.tokens, b.response_mask);
  return reshape(mean_logprob ? lp.mean : lp.sum, {int64_t(index.size()), J});
}

std::vector<double> LagrangeMultipliers::lambda() const {
  std::vector<double> l;
  for (double v : log_lambda) l.push_back(std::exp(v));
  return l;
}

void LagrangeMultipliers::update(const std::vector<double>& violations, double alpha) {
  GL_CHECK(violations.size() == log_lambda.size(), "LagrangeMultipliers::update: {} violations for {} multipliers",
           violations.size(), log_lambda.size());
  GL_CHECK(alpha >= 0, "LagrangeMultipliers::update: alpha must be >= 0, got {}", alpha);
  for (size_t i = 0; i < log_lambda.size(); ++i) {
    GL_CHECK(std::isfinite(violations[i]), "LagrangeMultipliers::update: violation {} is {}", i, violations[i]);
    log_lambda[i] += alpha * std::exp(log_lambda[i]) * violations[i];  // ln lambda <- ln lambda + alpha lambda J^C
    // The step grows with lambda itself, so a lasting violation would overflow it within a few steps:
    // lambda is kept in [kMinLambda, kMaxLambda].
    log_lambda[i] = std::clamp(log_lambda[i], std::log(kMinLambda), std::log(kMaxLambda));
  }
}

Tensor dual_step(const Tensor& log_lambda, const Tensor& violations, double alpha) {
  GL_CHECK(log_lambda.dim() == 1 && violations.shape() == log_lambda.shape() && log_lambda.dtype() == DType::f64 &&
               violations.dtype() == DType::f64 && violations.device() == log_lambda.device(),
           "dual_step: log lambda and the violations must be [M] f64 on one device, got {} {} and {} {}",
           log_lambda.shape(), dtype_name(log_lambda.dtype()), violations.shape(), dtype_name(violations.dtype()));
  GL_CHECK(alpha >= 0, "dual_step: alpha must be >= 0, got {}", alpha);
  // ln lambda <- ln lambda + alpha lambda J^C, kept in [kMinLambda, kMaxLambda] (as LagrangeMultipliers::update)
  return clamp(add(log_lambda, mul(mul(exp(log_lambda), alpha), violations)), std::log(kMinLambda),
               std::log(kMaxLambda));
}

Var lagrangian(const Var& task_loss, const std::vector<Var>& constraints, const Tensor& lambda) {
  GL_CHECK(lambda.dim() == 1 && lambda.size(0) == int64_t(constraints.size()) && is_floating(lambda.dtype()),
           "lagrangian: {} constraints for multipliers {} {}", constraints.size(), lambda.shape(),
           dtype_name(lambda.dtype()));
  check_none_bad(sum(lt(lambda, 0.0).to(DType::i64)), "lagrangian: a multiplier is negative");
  Var total = task_loss;
  Tensor Lambda = ones({}, DType::f64, lambda.device());
  for (size_t i = 0; i < constraints.size(); ++i) {
    const Tensor li = lambda.select(0, int64_t(i)).to(DType::f64);
    total = total + Var(li.to(constraints[i].dtype())) * constraints[i];
    Lambda = add(Lambda, li);
  }
  return total / Var(Lambda.to(total.dtype()));  // the same f64 sum, rounded once, as the host's
}

Var lagrangian(const Var& task_loss, const std::vector<Var>& constraints, const std::vector<double>& lambda) {
  GL_CHECK(constraints.size() == lambda.size(), "lagrangian: {} constraints for {} multipliers", constraints.size(),
           lambda.size());
  Var total = task_loss;
  double Lambda = 1.0;
  for (size_t i = 0; i < lambda.size(); ++i) {
    GL_CHECK(lambda[i] >= 0, "lagrangian: lambda_{} = {} is negative", i, lambda[i]);
    total = total + lambda[i] * constraints[i];
    Lambda += lambda[i];
  }
  return total / Lambda;  // L = Lambda^-1 [J_t + sum_i lambda_i J_i^C], Lambda = 1 + sum_i lambda_i
}

const char* constraint_mode_name(ConstraintMode m) {
  switch (m) {
    case ConstraintMode::lagrangian: return "lagrangian";
    case ConstraintMode::fixed_lambda: return "fixed_lambda";
    case ConstraintMode::replay: return "replay";
    case ConstraintMode::none: return "none";
  }
  return "?";
}

COPR::COPR(std::shared_ptr<nn::GPT> policy, const COPRConfig& c, uint64_t seed)
    : policy_(std::move(policy)), config_(c), gen_(seed) {
  GL_CHECK(policy_ != nullptr, "COPR: no policy");
  GL_CHECK(c.beta > 0 && c.lr > 0 && c.epochs >= 0 && c.batch_size >= 1 && c.replay_batch >= 1,
           "COPR: beta {} and lr {} must be positive, epochs {} >= 0, batch sizes {} and {} >= 1", c.beta, c.lr,
           c.epochs, c.batch_size, c.replay_batch);
  GL_CHECK(c.sft_coef >= 0 && c.fit_coef >= 0 && c.lambda_lr >= 0 && c.lambda_init > 0,
           "COPR: sft_coef {}, fit_coef {}, lambda_lr {} must be >= 0 and lambda_init {} > 0", c.sft_coef, c.fit_coef,
           c.lambda_lr, c.lambda_init);
  GL_CHECK(c.replay_fraction >= 0 && c.replay_fraction <= 1, "COPR: replay_fraction must be in [0, 1], got {}",
           c.replay_fraction);
  opt_ = std::make_unique<optim::AdamW>(policy_->trainable_parameters(),
                                        optim::AdamWOptions{.lr = c.lr, .weight_decay = c.weight_decay});
}

Tensor COPR::target_of(const std::vector<Ranking>& sets, Generator& gen) const {
  NoGradGuard no_grad;
  const int64_t n = int64_t(sets.size()), J = int64_t(sets.front().responses.size());
  std::vector<double> adv;
  for (int64_t i = 0; i < n; ++i) {
    const auto a = moderate_advantages(J, sample_moderate_scale(J, gen));  // one r_x per prompt
    adv.insert(adv.end(), a.begin(), a.end());
  }
  std::vector<Tensor> prev;
  for (int64_t s = 0; s < n; s += 256) {
    std::vector<int64_t> idx(size_t(std::min<int64_t>(n, s + 256) - s));
    std::iota(idx.begin(), idx.end(), s);
    prev.push_back(candidate_logprobs(*policy_, sets, idx, config_.mean_logprob).value());
  }
  const Tensor prev_lp = concat(prev, 0);  // log pi_{t-1}(y|x), [n, J]
  return optimal_policy_logprobs(prev_lp, from_vector(adv, {n, J}).to(prev_lp.device()).to(prev_lp.dtype()), config_.beta);
}

double COPR::memory_error(const Memory& m) const {
  NoGradGuard no_grad;
  std::vector<int64_t> all(m.sets.size());
  std::iota(all.begin(), all.end(), 0);
  const Var lp = candidate_logprobs(*policy_, m.sets, all, config_.mean_logprob);
  return fit_loss(candidate_log_distribution(lp), m.log_p_star, config_.fit).item();
}

COPRStageStats COPR::learn_task(const std::vector<Ranking>& task_data) {
  GL_CHECK(!task_data.empty(), "COPR::learn_task: no candidate sets");
  std::vector<Ranking> data = task_data;
  if (config_.constraint == ConstraintMode::replay)  // constraint -> replay: old sets are new data again
    for (const auto& r : replayed_) data.insert(data.end(), r.begin(), r.end());
  const Tensor target = target_of(data, gen_);  // log P*_t with pi_{t-1} = the policy now
  const bool constrained =
      config_.constraint == ConstraintMode::lagrangian || config_.constraint == ConstraintMode::fixed_lambda;
  COPRStageStats stats;
  if (constrained)
    for (const Memory& m : memories_) stats.thresholds.push_back(memory_error(m));  // d_i at theta_0 of this task
  while (duals_.log_lambda.size() < memories_.size()) duals_.log_lambda.push_back(std::log(config_.lambda_init));

  auto lambda_now = [&] {  // lambda_i, or 1 for the fixed-lambda ablation
    return config_.constraint == ConstraintMode::lagrangian ? duals_.lambda()
                                                            : std::vector<double>(memories_.size(), 1.0);
  };
  // On a device the constraints' statistics stay there: each step's violations
  // [M] and multipliers [M] (f64) wait for the epoch's read, and the
  // Lagrangian's log lambda is a tensor stepped there, read at the task's end.
  const Device device = policy_->device();
  const bool on_device = device != Device::cpu && constrained && !memories_.empty();
  const bool learned = config_.constraint == ConstraintMode::lagrangian;
  Tensor log_lambda;  // [M] f64 on the device
  if (on_device && learned) log_lambda = from_vector(duals_.log_lambda, {int64_t(memories_.size())}).to(device);
  std::vector<Tensor> pending;  // per step: violations then multipliers, [M] each
  const auto read_pending = [&] {
    if (pending.empty()) return;
    const std::vector<double> v = concat(pending).to_vector<double>();
    const size_t M = memories_.size();
    for (size_t k = 0; k < pending.size(); k += 2) {
      stats.step_violations.emplace_back(v.begin() + long(k * M), v.begin() + long((k + 1) * M));
      stats.step_lambda.emplace_back(v.begin() + long((k + 1) * M), v.begin() + long((k + 2) * M));
    }
    pending.clear();
  };
  const int64_t N = int64_t(data.size());
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  policy_->train();
  // J_fit and J_sft summed over an epoch's rows, and the losses' finite check:
  // on a device they stay there until the epoch ends.
  optim::StepTally tally("COPR", policy_->device(), 2);
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < config_.epochs; ++epoch) {
    shuffle(order, gen_);
    for (int64_t s = 0; s < N; s += config_.batch_size, ++step) {
      const std::vector<int64_t> idx(order.begin() + s, order.begin() + std::min(N, s + config_.batch_size));
      const int64_t B = int64_t(idx.size());
      const Var lp = candidate_logprobs(*policy_, data, idx, config_.mean_logprob);  // [B, J]
      const Var fit =
          fit_loss(candidate_log_distribution(lp), index_select(target, 0, from_vector(idx, {B}).to(target.device())), config_.fit);
      const Var sft = -mean(select(lp, 1, 0));  // -log pi(y_top|x): column 0 is the best candidate
      const Var task = config_.fit_coef * fit + config_.sft_coef * sft;  // J_t
      std::vector<Var> constraints;
      if (constrained) {
        for (size_t i = 0; i < memories_.size(); ++i) {
          const Memory& m = memories_[i];
          std::vector<int64_t> ridx(m.sets.size());
          std::iota(ridx.begin(), ridx.end(), 0);
          if (int64_t(ridx.size()) > config_.replay_batch) {
            shuffle(ridx, gen_);
            ridx.resize(size_t(config_.replay_batch));
          }
          const Var lpm = candidate_logprobs(*policy_, m.sets, ridx, config_.mean_logprob);
          const Tensor tm = index_select(m.log_p_star, 0, from_vector(ridx, {int64_t(ridx.size())}).to(target.device()));
          const Var c = fit_loss(candidate_log_distribution(lpm), tm, config_.fit) - stats.thresholds[i];  // J_i^C
          constraints.push_back(c);
        }
      }
      Tensor violations_now;  // [M] f64 on the device
      std::vector<double> violations;
      if (!constraints.empty()) {
        std::vector<Tensor> parts;
        for (const Var& c : constraints) parts.push_back(c.value().reshape({1}).to(DType::f64));
        violations_now = concat(parts);
        if (!on_device) violations = violations_now.to_vector<double>();  // the host's dual step takes them
      }
      Tensor lambda_dev;  // [M] f64 on the device
      if (on_device) lambda_dev = learned ? exp(log_lambda) : ones({int64_t(memories_.size())}, DType::f64, device);
      const Var loss =
          on_device ? lagrangian(task, constraints, lambda_dev) : lagrangian(task, constraints, lambda_now());
      tally.check_finite(loss, step);
      opt_->zero_grad();
      loss.backward();
      if (config_.max_grad_norm > 0) optim::clip_grad_norm_async(opt_->params(), config_.max_grad_norm);
      opt_->step();
      if (on_device) {
        if (learned) log_lambda = dual_step(log_lambda, violations_now, config_.lambda_lr);
        pending.push_back(violations_now);
        pending.push_back(learned ? exp(log_lambda) : lambda_dev);
      } else {
        if (learned) duals_.update(violations, config_.lambda_lr);  // dual step
        if (constrained) {
          stats.step_violations.push_back(violations);
          stats.step_lambda.push_back(lambda_now());
        }
      }
      tally.add(0, fit.value(), double(B));
      tally.add(1, sft.value(), double(B));
    }
    tally.read();
    read_pending();
    stats.fit = tally.sum(0) / double(N);
    stats.sft = tally.sum(1) / double(N);
    tally.reset_sums();
  }
  if (log_lambda.defined()) duals_.log_lambda = log_lambda.to_vector<double>();
  policy_->eval();
  if (constrained) {
    for (size_t i = 0; i < memories_.size(); ++i)
      stats.violations.push_back(memory_error(memories_[i]) - stats.thresholds[i]);
    stats.lambda = lambda_now();
  }
  // The replay memory of this task: a fraction of its sets with their P*_t (fixed from now on).
  const std::vector<int64_t> keep = replay_indices(int64_t(task_data.size()), config_.replay_fraction, gen_);
  if (!keep.empty() && config_.constraint != ConstraintMode::none) {
    Memory m;
    for (int64_t i : keep) m.sets.push_back(task_data[size_t(i)]);
    m.log_p_star =
        index_select(target, 0, from_vector(keep, {int64_t(keep.size())}).to(target.device()));  // rows of this task's data come first
    if (config_.constraint == ConstraintMode::replay)
      replayed_.push_back(m.sets);
    else
      memories_.push_back(std::move(m));
  }
  return stats;
}

}  // namespace gradlab::alignment
