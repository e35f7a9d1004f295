// The continual-learning baselines COPR is compared against
// (docs/papers/alignment-baselines.md "Continual-learning baselines"), each a way of learning task t of the stream
// after tasks 1..t-1, on the same ranked data (continual_tasks.h):
//   sft_inorder    SFT on each task's best response in turn
//   sft_multitask  SFT on the best responses of every task so far (the upper bound of retraining)
//   dpo_replay     DPO (reference pi_{t-1}) on the task's ranked pairs plus a 5% replay memory of each old task
//   dpo_multitask  DPO (reference pi_{t-1}) on the ranked pairs of every task so far (retraining on all data)
//   ewc            DPO + (c/2) sum_k F_k (theta_k - theta*_k)^2, F the diagonal Fisher of
//                  log pi(y_top|x), summed over finished tasks, theta* the model after the last one
//   l2             DPO + c sum_k (theta_k - theta*_k)^2, theta* = pi_{t-1}'s weights
//   kl_replay      DPO + c E_{replay} (1/n) sum_t KL(pi_{t-1}(.|x, y_<t) || pi_theta(.|x, y_<t)): distillation
//                  to the previous model on the replayed responses
// The DPO and SFT steps are dpo.h's train_dpo and sft.h's train_sft.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/alignment/continual_tasks.h"
#include "algorithms/alignment/dpo.h"
#include "algorithms/alignment/sft.h"

namespace gradlab::alignment {

// Every pair (i, j), i < j, of each ranking whose gold reward differs (the better one chosen).
std::vector<PreferencePair> ranking_pairs(const std::vector<Ranking>& rankings);
// (prompt, best response) of each ranking: the SFT data.
std::vector<Sequence> top_responses(const std::vector<Ranking>& rankings);

// The diagonal (empirical) Fisher of log pi(y|x) at the model's weights, one tensor per trainable parameter:
//   F = (1/N) sum_n (d log pi(y_n|x_n) / d theta)^2   (one backward per example).
std::vector<Tensor> diagonal_fisher(const nn::GPT& model, const std::vector<Tokens>& prompts,
                                    const std::vector<Tokens>& responses, bool mean_logprob);
// sum_k F_k (theta_k - anchor_k)^2 over every element of every parameter.
Var ewc_penalty(const std::vector<Var>& params, const std::vector<Tensor>& anchor, const std::vector<Tensor>& fisher);
// sum_k (theta_k - anchor_k)^2.
Var l2_penalty(const std::vector<Var>& params, const std::vector<Tensor>& anchor);
// Mean over the response tokens of KL(teacher(.|ctx) || student(.|ctx)); the teacher is a constant.
Var distillation_kl(const nn::GPT& student, const nn::GPT& teacher, const SequenceBatch& batch);

enum class ContinualBaseline { sft_inorder, sft_multitask, dpo_replay, ewc, l2, kl_replay, dpo_multitask };
const char* continual_baseline_name(ContinualBaseline b);
ContinualBaseline continual_baseline_from_name(const std::string& name);  // throws for an unknown name

struct ContinualBaselineConfig {
  DPOConfig dpo{.beta = 0.3, .epochs = 3, .batch_size = 64, .lr = 5e-4};
  SFTConfig sft{.batch_size = 64, .lr = 5e-4};  // steps: sft_epochs passes over the data
  double sft_epochs = 4;
  double replay_fraction = 0.05;
  double ewc_coef = 1.0;
  double l2_coef = 0.01;
  double kl_coef = 0.3;
  int64_t replay_batch = 32;     // kl_replay: replayed responses per step
  int64_t fisher_samples = 128;  // ewc: examples of the task the Fisher is measured on
};

class ContinualBaselineLearner {
 public:
  ContinualBaselineLearner(std::shared_ptr<nn::GPT> policy, ContinualBaseline method,
                           const ContinualBaselineConfig& config, uint64_t seed);
  // Learns one task of the stream, then updates what the method keeps (memory, Fisher, anchor).
  void learn_task(const std::vector<Ranking>& data);
  ContinualBaseline method() const { return method_; }

 private:
  std::shared_ptr<nn::GPT> policy_;
  ContinualBaseline method_;
  ContinualBaselineConfig config_;
  Generator gen_;
  std::vector<Ranking> seen_;    // sft_multitask, dpo_multitask: every task's data
  std::vector<Ranking> memory_;  // dpo_replay, kl_replay: replay_fraction of each finished task
  std::vector<Tensor> anchor_, fisher_;
};

}  // namespace gradlab::alignment
