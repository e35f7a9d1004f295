// COPF, continual preference learning by optimal-policy fitting (the earlier
// versions of COPR; docs/papers/copr.md, "COPF"), as the authors' training
// code computes it. With l(y) = log pi_theta(y|x) (per-token mean by default)
// and l_ref(y) that of pi_{t-1}, the model before the task:
//   rewards     r(y) = +-m by rank (J = 2; for J > 2 linear in rank from -m to m), or
//               J sorted draws of N(0, sigma^2) assigned by rank (fresh each step)
//   P*          P*(y) = e^{l_ref(y) + r(y)/beta} / sum_{y' in batch} e^{l_ref(y') + r(y')/beta}   (over the whole
//   minibatch) P_theta     P_theta(y) = e^{l(y)} / sum_{y' in batch} e^{l(y')} L_fit = (1/n) sum_batch (log P_theta -
//   log P*)^2 L_reg = (1/n) sum_replay (l(y) - l_ref(y))^2          (function regularisation on the old tasks' replay)
//   L_nll = -(1/B) sum l(y_top)
//   L = c_fit L_fit + c_nll L_nll + c_reg L_reg           (lambda fixed: no dual step)
// The scoring module that orders unlabelled candidates is copf_scorer.h.
#pragma once

#include <memory>
#include <vector>

#include "algorithms/alignment/continual_tasks.h"
#include "optim/adam.h"

namespace gradlab::alignment {

enum class COPFReward { margin, gaussian };
const char* copf_reward_name(COPFReward r);

// The J rewards of a ranked list (best first).
std::vector<double> copf_rewards(int64_t J, COPFReward kind, double margin, double gaussian_std, Generator& gen);
// log P* over the whole batch: log_softmax over all entries of l_ref + r / beta; [N] from [N] and [N].
Tensor batch_optimal_logprobs(const Tensor& ref_logprobs, const Tensor& rewards, double beta);
// (1/n) sum (log_softmax(l) - log P*)^2 over the batch: l [N] differentiable, log P* [N].
Var batch_fit_loss(const Var& logprobs, const Tensor& log_p_star);
// (1/n) sum (l - l_ref)^2.
Var function_regulariser(const Var& logprobs, const Tensor& ref_logprobs);

struct COPFConfig {
  double beta = 0.1;
  COPFReward reward = COPFReward::margin;
  double margin = 1.0;
  double gaussian_std = std::sqrt(2.0);  // the authors' N(0, 2)
  double fit_coef = 1.0, nll_coef = 1.0, reg_coef = 1.0;
  bool mean_logprob = false;
  double replay_fraction = 0.05;
  int64_t epochs = 4;
  int64_t batch_size = 32;    // prompts per step
  int64_t replay_batch = 32;  // replayed sets per step
  double lr = 5e-4;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
};

struct COPFStageStats {
  double fit = 0, nll = 0, reg = 0;  // last epoch's means
};

class COPF {
 public:
  COPF(std::shared_ptr<nn::GPT> policy, const COPFConfig& config, uint64_t seed);
  COPFStageStats learn_task(const std::vector<Ranking>& data);
  const COPFConfig& config() const { return config_; }

 private:
  std::shared_ptr<nn::GPT> policy_;
  COPFConfig config_;
  Generator gen_;
  std::unique_ptr<optim::AdamW> opt_;
  std::vector<Ranking> memory_;  // replay_fraction of each finished task
};

}  // namespace gradlab::alignment
