// COPR, continual preference learning by optimal-policy regularisation
// (docs/papers/copr.md; the write-up is algorithms/alignment/COPR.md). For
// task t with prompts x and their candidate sets Y_x (J responses ranked by
// the gold reward; rank j = 1 is the worst, J the best):
//   moderate reward   Adv(x, y_j) = r_x (2j/(J-1) - (J+1)/(J-1)),  r_x ~ Beta(J-1, 2)   so Adv in [-r_x, r_x]
//   optimal policy    P*_t(y|Y_x) = pi_{t-1}(y|x) e^{Adv(x,y)/beta} / sum_{y' in Y_x} pi_{t-1}(y'|x) e^{Adv(x,y')/beta}
//                     (an added delta(x) in the reward cancels, and so does the partition function)
//   policy on Y_x     P_theta(y|Y_x) = pi_theta(y|x) / sum_{y' in Y_x} pi_theta(y'|x)
//   fit               J_fit = E_x sum_{y in Y_x} |Y_x|^-1 [log P_theta(y|Y_x) - log P*_t(y|Y_x)]^2   (KL as an
//   ablation) SFT term          J_sft = -log pi_theta(y_top|x) constraint        J_i^C = E_{x in R_i} sum_y |Y_x|^-1
//   [log P_theta - log P*_i]^2 - d_i <= 0 for each old task i,
//                     R_i its replay memory with cached log P*_i, d_i the same error at the task's start
//   Lagrangian        L(theta) = Lambda^-1 [J_t + sum_i lambda_i J_i^C],  Lambda = 1 + sum_i lambda_i,
//                     J_t = J_fit + c_sft J_sft; theta <- theta - eta grad L, then ln lambda_i <- ln lambda_i + alpha
//                     lambda_i J_i^C.
// log pi(y|x) is the sequence sum or, with mean_logprob, the per-token mean.
#pragma once

#include <memory>
#include <vector>

#include "algorithms/alignment/continual_tasks.h"
#include "optim/adam.h"

namespace gradlab::alignment {

// ---- the pieces, each testable on its own ----

// r_x ~ Beta(J-1, 2): the (J-1)-th smallest of J uniforms (an order statistic of integer Beta parameters).
double sample_moderate_scale(int64_t J, Generator& gen);
// Adv(x, y) of a candidate list ranked best first: entry k has rank j = J - k.
std::vector<double> moderate_advantages(int64_t J, double r_x);
// log P*(y|Y_x) = log pi_{t-1}(y|x) + Adv/beta - logsumexp_{Y_x}(...): [B, J] from [B, J] log-probs and advantages.
Tensor optimal_policy_logprobs(const Tensor& prev_logprobs, const Tensor& advantages, double beta);
// log P_theta(y|Y_x) = log pi_theta(y|x) - logsumexp_{Y_x} log pi_theta: [B, J].
Var candidate_log_distribution(const Var& logprobs);

enum class FitLoss {
  mse,  // the paper: equal-weight squared error of the log-probabilities
  kl,   // ablation: KL(P* || P_theta) = sum_y P* (log P* - log P_theta)
};
// Batch mean of the fit of log P_theta ([B, J], differentiable) to log P* ([B, J]).
Var fit_loss(const Var& log_p_theta, const Tensor& log_p_star, FitLoss kind = FitLoss::mse);

// log pi(y|x) of every candidate of the sets `index` of `sets`: [B, J], rows in index order. Differentiable.
Var candidate_logprobs(const nn::GPT& model, const std::vector<Ranking>& sets, const std::vector<int64_t>& index,
                       bool mean_logprob);

// The dual variables, kept in log space (and within [kMinLambda, kMaxLambda]).
inline constexpr double kMinLambda = 1e-6, kMaxLambda = 1e4;
struct LagrangeMultipliers {
  std::vector<double> log_lambda;
  std::vector<double> lambda() const;
  // ln lambda_i <- ln lambda_i + alpha lambda_i J_i^C (rises while J_i^C > 0, falls while it holds).
  void update(const std::vector<double>& violations, double alpha);
};
// LagrangeMultipliers::update with the multipliers on a device: log_lambda and
// violations [M] f64 there; returns the new log lambda, nothing read back.
Tensor dual_step(const Tensor& log_lambda, const Tensor& violations, double alpha);
// L = Lambda^-1 [J_t + sum_i lambda_i J_i^C], Lambda = 1 + sum_i lambda_i:
// lambda as host numbers (checked >= 0 at once), or as a [M] tensor on the
// losses' device (a negative one raised as a deferred error there).
Var lagrangian(const Var& task_loss, const std::vector<Var>& constraints, const std::vector<double>& lambda);
Var lagrangian(const Var& task_loss, const std::vector<Var>& constraints, const Tensor& lambda);

// ---- the learner ----

// How old tasks are protected (the ablations of the paper's Table 5).
enum class ConstraintMode {
  lagrangian,    // COPR: constraints with learned lambda_i
  fixed_lambda,  // lambda_i = 1
  replay,        // no constraints; the replayed sets join the new task's data, their P* recomputed from pi_{t-1}
  none,          // no memory at all
};
const char* constraint_mode_name(ConstraintMode m);

struct COPRConfig {
  double beta = 0.1;
  double sft_coef = 1.0;  // c_sft (0: the -SFT ablation)
  double fit_coef = 1.0;  // 0: the -fit ablation
  FitLoss fit = FitLoss::mse;
  ConstraintMode constraint = ConstraintMode::lagrangian;
  double lambda_lr = 0.1;    // alpha of the log-space dual step
  double lambda_init = 1.0;  // each new constraint's lambda
  bool mean_logprob = false;
  double replay_fraction = 0.05;
  int64_t epochs = 4;
  int64_t batch_size = 32;    // prompts per step (each with J candidates)
  int64_t replay_batch = 32;  // candidate sets per memory per step (the whole memory when smaller)
  double lr = 5e-4;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
};

struct COPRStageStats {
  double fit = 0, sft = 0;         // last epoch's mean J_fit and J_sft on the task
  std::vector<double> thresholds;  // d_i at the task's start
  std::vector<double> violations;  // J_i^C after the stage
  std::vector<double> lambda;      // lambda_i after the stage
  // Per training step: each constraint's J_i^C (on the step's replay batch, before the update) and lambda_i
  // after the dual step.
  std::vector<std::vector<double>> step_violations, step_lambda;
};

class COPR {
 public:
  COPR(std::shared_ptr<nn::GPT> policy, const COPRConfig& config, uint64_t seed);
  // Learns one task: P*_t from the policy as it is now (pi_{t-1}), the Lagrangian against the old tasks'
  // memories, then keeps a replay_fraction of the task's sets with their P*_t. On a device a step reads
  // nothing back: the violations and the multipliers (stepped by dual_step) stay there, the per-step
  // statistics and the epoch's sums are read once an epoch, the multipliers once at the task's end.
  COPRStageStats learn_task(const std::vector<Ranking>& data);
  const COPRConfig& config() const { return config_; }
  size_t memories() const { return memories_.size(); }

 private:
  struct Memory {
    std::vector<Ranking> sets;
    Tensor log_p_star;  // [n, J], cached when the task was learned
  };
  Tensor target_of(const std::vector<Ranking>& sets, Generator& gen) const;  // log P* with pi = policy now
  double memory_error(const Memory& m) const;                                // the fit error on R_i, no grad
  std::shared_ptr<nn::GPT> policy_;
  COPRConfig config_;
  Generator gen_;
  std::unique_ptr<optim::AdamW> opt_;
  std::vector<Memory> memories_;
  std::vector<std::vector<Ranking>> replayed_;  // ConstraintMode::replay: the kept sets, without targets
  LagrangeMultipliers duals_;
};

}  // namespace gradlab::alignment
