// COPF: batch-normalised optimal policy, margin or Gaussian rewards, and
// function regularisation on replay (equations in copf.h).
#include "algorithms/alignment/copf.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/alignment/copr.h"
#include "optim/clip.h"
#include "optim/step_tally.h"
#include "tensor/error.h"

namespace gradlab::alignment {

namespace pref = envs::preference;

const char* copf_reward_name(COPFReward r) { return r == COPFReward::margin ? "margin" : "gaussian"; }

std::vector<double> copf_rewards(int64_t J, COPFReward kind, double margin, double gaussian_std, Generator& gen) {
  GL_CHECK(J >= 2 && margin >= 0 && gaussian_std > 0, "copf_rewards: J {} >= 2, margin {} >= 0, std {} > 0", J, margin,
           gaussian_std);
  std::vector<double> r;
  if (kind == COPFReward::margin) {
    for (int64_t k = 0; k < J; ++k) r.push_back(margin * (1.0 - 2.0 * double(k) / double(J - 1)));  // m ... -m
    return r;
  }
  for (int64_t k = 0; k < J; ++k) {  // Box-Muller draws of N(0, std^2), sorted high to low: the best gets the largest
    const double u1 = std::max(pref::uniform01(gen), 1e-12), u2 = pref::uniform01(gen);
    r.push_back(gaussian_std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }
  std::sort(r.rbegin(), r.rend());
  return r;
}

Tensor batch_optimal_logprobs(const Tensor& ref_logprobs, const Tensor& rewards, double beta) {
  GL_CHECK(ref_logprobs.dim() == 1 && rewards.shape() == ref_logprobs.shape(),
           "batch_optimal_logprobs: expected [N] log-probs and rewards, got {} and {}", ref_logprobs.shape(),
           rewards.shape());
  // COPR's P* with the whole batch as one candidate set: log_softmax over all N of l_ref + r / beta
  const int64_t N = ref_logprobs.size(0);
  return optimal_policy_logprobs(ref_logprobs.reshape({1, N}), rewards.reshape({1, N}), beta).reshape({N});
}

Var batch_fit_loss(const Var& logprobs, const Tensor& log_p_star) {
  GL_CHECK(logprobs.dim() == 1 && log_p_star.shape() == logprobs.shape(),
           "batch_fit_loss: expected [N] log-probs and log P*, got {} and {}", logprobs.shape(), log_p_star.shape());
  // COPR's MSE fit with the whole batch as one candidate set: (1/n) sum (log_softmax(l) - log P*)^2
  const int64_t N = logprobs.size(0);
  return fit_loss(candidate_log_distribution(reshape(logprobs, {1, N})), log_p_star.reshape({1, N}));
}

Var function_regulariser(const Var& logprobs, const Tensor& ref_logprobs) {
  GL_CHECK(logprobs.dim() == 1 && ref_logprobs.shape() == logprobs.shape(),
           "function_regulariser: expected [N] log-probs and reference log-probs, got {} and {}", logprobs.shape(),
           ref_logprobs.shape());
  return mean(square(logprobs - Var(ref_logprobs.to(logprobs.dtype()))));  // (1/n) sum (l - l_ref)^2
}

COPF::COPF(std::shared_ptr<nn::GPT> policy, const COPFConfig& c, uint64_t seed)
    : policy_(std::move(policy)), config_(c), gen_(seed) {
  GL_CHECK(policy_ != nullptr, "COPF: no policy");
  GL_CHECK(c.beta > 0 && c.lr > 0 && c.epochs >= 0 && c.batch_size >= 1 && c.replay_batch >= 1,
           "COPF: beta {} and lr {} must be positive, epochs {} >= 0, batch sizes {} and {} >= 1", c.beta, c.lr,
           c.epochs, c.batch_size, c.replay_batch);
  GL_CHECK(c.fit_coef >= 0 && c.nll_coef >= 0 && c.reg_coef >= 0 && c.replay_fraction >= 0 && c.replay_fraction <= 1,
           "COPF: coefficients fit {}, nll {}, reg {} must be >= 0, replay_fraction {} in [0, 1]", c.fit_coef,
           c.nll_coef, c.reg_coef, c.replay_fraction);
  opt_ = std::make_unique<optim::AdamW>(policy_->trainable_parameters(),
                                        optim::AdamWOptions{.lr = c.lr, .weight_decay = c.weight_decay});
}

COPFStageStats COPF::learn_task(const std::vector<Ranking>& data) {
  GL_CHECK(!data.empty(), "COPF::learn_task: no rankings");
  const int64_t N = int64_t(data.size()), J = int64_t(data.front().responses.size());
  auto all_rows = [](size_t n) {
    std::vector<int64_t> v(n);
    std::iota(v.begin(), v.end(), 0);
    return v;
  };
  // l_ref: pi_{t-1} on the task's candidates and on the replay memory, fixed for the stage.
  Tensor ref_task, ref_memory;
  {
    NoGradGuard no_grad;
    ref_task = candidate_logprobs(*policy_, data, all_rows(data.size()), config_.mean_logprob).value();  // [N, J]
    if (!memory_.empty())
      ref_memory = candidate_logprobs(*policy_, memory_, all_rows(memory_.size()), config_.mean_logprob).value();
  }
  COPFStageStats stats;
  std::vector<int64_t> order = all_rows(data.size());
  policy_->train();
  // The epoch's sums: on a device they stay there, read once an epoch.
  enum { kFit, kNll, kReg };
  optim::StepTally tally("COPF", policy_->device(), 3);
  for (int64_t epoch = 0; epoch < config_.epochs; ++epoch) {
    shuffle(order, gen_);
    tally.reset_sums();
    for (int64_t s = 0; s < N; s += config_.batch_size) {
      const std::vector<int64_t> idx(order.begin() + s, order.begin() + std::min(N, s + config_.batch_size));
      const int64_t B = int64_t(idx.size());
      const Var lp = candidate_logprobs(*policy_, data, idx, config_.mean_logprob);  // [B, J]
      std::vector<double> r;
      for (int64_t b = 0; b < B; ++b) {
        const auto rb = copf_rewards(J, config_.reward, config_.margin, config_.gaussian_std, gen_);
        r.insert(r.end(), rb.begin(), rb.end());
      }
      const Tensor ref = index_select(ref_task, 0, from_vector(idx, {B}).to(ref_task.device())).reshape({B * J});
      const Tensor log_p_star = batch_optimal_logprobs(ref, from_vector(r, {B * J}).to(ref.device()), config_.beta);
      const Var fit = batch_fit_loss(reshape(lp, {B * J}), log_p_star);
      const Var nll = -mean(select(lp, 1, 0));  // -l(y_top): column 0 is the best
      Var loss = config_.fit_coef * fit + config_.nll_coef * nll;
      if (!memory_.empty() && config_.reg_coef > 0) {
        std::vector<int64_t> ridx = all_rows(memory_.size());
        if (int64_t(ridx.size()) > config_.replay_batch) {
          shuffle(ridx, gen_);
          ridx.resize(size_t(config_.replay_batch));
        }
        const int64_t R = int64_t(ridx.size());
        const Var lm = reshape(candidate_logprobs(*policy_, memory_, ridx, config_.mean_logprob), {R * J});
        const Var reg = function_regulariser(lm, index_select(ref_memory, 0, from_vector(ridx, {R}).to(ref_memory.device())).reshape({R * J}));
        loss = loss + config_.reg_coef * reg;
        tally.add(kReg, reg.value(), double(B));
      }
      opt_->zero_grad();
      loss.backward();
      if (config_.max_grad_norm > 0) optim::clip_grad_norm_async(opt_->params(), config_.max_grad_norm);
      opt_->step();
      tally.add(kFit, fit.value(), double(B));
      tally.add(kNll, nll.value(), double(B));
    }
    tally.read();
    stats = {tally.sum(kFit) / double(N), tally.sum(kNll) / double(N), tally.sum(kReg) / double(N)};
  }
  policy_->eval();
  for (int64_t i : replay_indices(N, config_.replay_fraction, gen_)) memory_.push_back(data[size_t(i)]);
  return stats;
}

}  // namespace gradlab::alignment
