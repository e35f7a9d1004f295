// The judge inside OSP's policy: the model being aligned judges its own
// samples (docs/papers/osp.md). A miniature model cannot follow a judging
// instruction, so gradlab gives it the ability in one of two ways, both
// warm-started on gold-labelled pairs while its language model keeps the SFT
// likelihood (a documented deviation from prompting a large model):
//
//   head           a scalar head r on the policy's own trunk (Bradley-Terry):
//                    logit P(a > b | x) = r(x, a) - r(x, b)
//   verdict_token  the policy's own next-token distribution after a judge
//                  prompt written in the world's words, [x, a, b], read on two
//                  verdict words ("good": the first response is better, "bad"):
//                    logit P(a > b | x) = l_good - l_bad at the prompt's last position
//
// win_probability gives s = P(y > y_b | x) against a baseline response y_b;
// the verdict judge averages both orders of the pair to cancel its position
// bias: s = (sigma(d(x, y, y_b)) + sigma(-d(x, y_b, y))) / 2.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/alignment/reward_model.h"

namespace gradlab::alignment {

enum class JudgeKind { head, verdict_token };
JudgeKind judge_kind_from_string(const std::string& name);  // "head", "verdict_token"
const char* judge_kind_name(JudgeKind k);

struct SelfJudgeOptions {
  JudgeKind kind = JudgeKind::head;
  RewardPooling pooling = RewardPooling::token_sum;  // head: where it reads the response
};

class SelfJudge {
 public:
  // model: the policy (a reward head for JudgeKind::head; for verdict_token a context of at least
  // prompt + 2 responses tokens).
  SelfJudge(std::shared_ptr<nn::GPT> model, SelfJudgeOptions options);

  // The differentiable logit of P(first > second | prompt), one per row: [B].
  Var preference_logit(const std::vector<Tokens>& prompts, const std::vector<Tokens>& first,
                       const std::vector<Tokens>& second) const;
  // s_i = P(responses_i > baselines_i | prompts_i), without gradients, in chunks.
  std::vector<double> win_probability(const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses,
                                      const std::vector<Tokens>& baselines) const;
  // The fraction of pairs (gold ties skipped) whose preferred response has the higher gold reward.
  double accuracy_vs_gold(const std::vector<PreferencePair>& pairs) const;

  nn::GPT& model() const { return *model_; }
  const SelfJudgeOptions& options() const { return options_; }

 private:
  std::shared_ptr<nn::GPT> model_;
  SelfJudgeOptions options_;
  int64_t good_ = 0, bad_ = 0;  // the verdict words
};

// The judge's warm start on gold-labelled pairs, the language model kept:
//   L = -log sigmoid(logit P(y_w > y_l)) [verdict_token: and -log sigmoid(-logit P(y_l > y_w))]
//       + lm_coef * NLL(a corpus minibatch)
struct JudgeWarmStartConfig {
  int64_t epochs = 4;
  int64_t batch_size = 32;
  double lr = 1e-3;
  double lm_coef = 1.0;
  double max_grad_norm = 1.0;
};
struct JudgeWarmStartHistory {
  std::vector<double> judge_loss, lm_loss;  // per epoch
};
JudgeWarmStartHistory warm_start_judge(const SelfJudge& judge, const std::vector<PreferencePair>& pairs,
                                       const std::vector<envs::preference::Sequence>& corpus,
                                       const JudgeWarmStartConfig& config, Generator& gen);

}  // namespace gradlab::alignment
