// OSP, online self-preferring alignment (docs/papers/osp.md; the write-up is
// algorithms/alignment/OSP.md). Each iteration the policy
//   1. samples K responses y_1..y_K to every prompt x (key/value cache),
//   2. judges each against one baseline response y_b with its *own* judge (self_judge.h: a scalar
//      head on its trunk, or its verdict word after a judge prompt; either changes as the policy trains):
//        s_k = P(y_k > y_b | x),
//   3. sorts the K responses by s and pairs rank i with rank K+1-i ("mirror"; or every i < j, "all"),
//      each pair with the soft strength p_ij = sigmoid(logit s_i - logit s_j) in [0.5, 1),
//   4. trains on the soft-preference cross-entropy (SPCE)
//        h_ij = beta [(log pi - log pi_ref)(y_i) - (log pi - log pi_ref)(y_j)]
//        L = -mean[p_ij log sigmoid(h_ij) + (1 - p_ij) log sigmoid(-h_ij)],
// and repeats. p = 1 everywhere is DPO, a constant p = 1 - eps is cDPO; the
// loss is lowest at sigmoid(h) = p, so margins stay finite where DPO's grow
// without bound. The baselines of the experiment are the same loop with the
// strength replaced (binary labels, a constant), which is what `strength`
// selects.
#pragma once

#include <memory>
#include <vector>

#include "algorithms/alignment/self_judge.h"
#include "envs/preference/language.h"
#include "optim/adam.h"

namespace gradlab::alignment {

// SPCE, the batch mean (above) from policy log-probs of the better and the
// worse response ([B], differentiable), their reference log-probs ([B]) and
// the strengths p ([B], each in [0, 1]).
Var spce_loss(const Var& policy_better, const Var& policy_worse, const Tensor& ref_better, const Tensor& ref_worse,
              const Tensor& strength, double beta);

// p = sigmoid(logit s_i - logit s_j), with s clamped to [1e-6, 1 - 1e-6].
double pair_strength(double s_i, double s_j);

// How the K ranked responses of one prompt are paired.
enum class Pairing {
  mirror,  // rank i with rank K+1-i: K/2 pairs, the best with the worst
  all,     // every i < j: K(K-1)/2 pairs
};
Pairing pairing_from_string(const std::string& name);  // "mirror", "all"
const char* pairing_name(Pairing p);

struct RankedPair {
  int64_t better = 0, worse = 0;  // indices into the scored list
  double strength = 0.5;          // pair_strength(s[better], s[worse])
};
// Sorts the scores high to low (ties keep their input order) and pairs them.
std::vector<RankedPair> ranked_pairs(const std::vector<double>& scores, Pairing pairing);

// The response each sample is judged against.
enum class BaselineResponse {
  greedy,  // the policy's greedy decode
  sample,  // one more sample of the policy
  sft,     // a sample of the SFT policy
};
BaselineResponse baseline_from_string(const std::string& name);  // "greedy", "sample", "sft"
const char* baseline_name(BaselineResponse b);

// The label each pair is trained with.
enum class StrengthMode {
  soft,      // OSP: p_ij from the judge
  binary,    // online DPO with the judge's binary labels: p = 1
  constant,  // cDPO: p = constant_strength for every pair
};
StrengthMode strength_from_string(const std::string& name);  // "soft", "binary", "constant"
const char* strength_name(StrengthMode m);

// One training pair with its strength (better is the judge's choice).
struct SoftPair {
  Tokens prompt, better, worse;
  double strength = 1.0;
};

struct OSPConfig {
  int64_t samples_per_prompt = 8;  // K
  BaselineResponse baseline = BaselineResponse::greedy;
  Pairing pairing = Pairing::mirror;
  StrengthMode strength = StrengthMode::soft;
  double constant_strength = 0.9;  // StrengthMode::constant
  double beta = 0.1;
  bool mean_logprob = false;  // per-token mean log-probs instead of sums
  int64_t response_len = 8;
  int64_t epochs = 1;  // passes over an iteration's pairs
  int64_t batch_size = 64;
  double lr = 5e-4;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
};

// What one iteration measured: the pairs it built and the training on them,
// with the wall time of each phase.
struct OSPIterationStats {
  int64_t iteration = 0;
  int64_t pairs = 0;
  double mean_strength = 0;    // of the labels trained with
  double judge_agreement = 0;  // fraction of pairs (gold ties skipped) the judge orders as the gold reward does
  double loss = 0;             // mean training loss over the iteration's minibatches
  double margin = 0;           // mean beta h over the pairs, before each minibatch's update
  double seconds_sample = 0, seconds_judge = 0, seconds_train = 0;
};

class OSP {
 public:
  // policy: trained in place, and its own judge (SelfJudge's requirements); reference: the frozen pi_ref;
  // sft: the SFT policy (for BaselineResponse::sft; may be null otherwise).
  OSP(std::shared_ptr<nn::GPT> policy, std::shared_ptr<const nn::GPT> reference, std::shared_ptr<const nn::GPT> sft,
      const OSPConfig& config, SelfJudgeOptions judge, uint64_t seed);
  // Optional: the gold reward, only to log how often the judge agrees with it.
  void set_gold(RewardFn gold) { gold_ = std::move(gold); }

  // Steps 1-3: samples, self-judges and pairs; the strengths follow config.strength.
  std::vector<SoftPair> make_pairs(const std::vector<Tokens>& prompts, OSPIterationStats* stats = nullptr);
  // Step 4: config.epochs of SPCE on the pairs (any pairs: the offline baseline passes fixed ones).
  void train_on(const std::vector<SoftPair>& pairs, OSPIterationStats* stats = nullptr);
  // One whole iteration.
  OSPIterationStats step(const std::vector<Tokens>& prompts);

  // The policy's own judge.
  const SelfJudge& judge() const { return judge_; }
  const OSPConfig& config() const { return config_; }

 private:
  std::shared_ptr<nn::GPT> policy_;
  std::shared_ptr<const nn::GPT> reference_, sft_;
  OSPConfig config_;
  SelfJudge judge_;
  RewardFn gold_;
  Generator gen_;
  std::unique_ptr<optim::AdamW> opt_;
  int64_t iteration_ = 0;
};

}  // namespace gradlab::alignment
