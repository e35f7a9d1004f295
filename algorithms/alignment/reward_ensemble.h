// A diverse reward LoRA ensemble (UP-RLHF, docs/papers/up-rlhf.md; the paper's Eqs. 11-13): K
// LoRA members on the linear layers of one frozen GPT trunk that was
// pretrained as a single reward model, each member with its own scalar reward
// head. All K members are evaluated in one pass (nn::LoRALinear with K
// adapters). Training is Bradley-Terry on the ensemble mean plus alpha times
// the diversity term: minus the mean over LoRA modules of the nuclear norm of
// the stacked A matrices [A_1; ..; A_K] (optionally scale-invariant). The
// heads read the sequence as the trunk's reward model did: at the response's
// last token, or summed (averaged) over its tokens (RewardPooling).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sequences.h"
#include "nn/gpt.h"
#include "nn/lora.h"

namespace gradlab::alignment {

// Which linear layers of each transformer block get K adapters.
enum class LoRATargets { all, attention, mlp };
// How the diversity term normalises each module's nuclear norm.
enum class DiversityNorm {
  plain,            // ||A||_*
  scale_invariant,  // ||A||_* / ||A||_F                         (Eq. 12)
  upstream,         // ||A||_* / sg(||A||_F) * sqrt(max(K r, in)) (the authors' code, via a port)
};
// How the ensemble mean that enters the Bradley-Terry loss is computed.
enum class EnsembleMean {
  members,        // r_bar = (1/K) sum_k r_k from K per-member passes (Eq. 13's r_n)
  layer_average,  // Eq. 11: one pass in which every LoRA layer adds (1/K) sum_k B_k A_k z
};

LoRATargets lora_targets_from_string(const std::string& name);
DiversityNorm diversity_norm_from_string(const std::string& name);
EnsembleMean ensemble_mean_from_string(const std::string& name);

struct RewardEnsembleOptions {
  int64_t members = 5;  // K (N in the paper)
  int64_t rank = 8;     // r
  double lora_alpha = 16.0;
  // The paper starts every A from a Gaussian; fan_in_uniform is nn::LoRALinear's default.
  nn::LoRAInit lora_init = nn::LoRAInit::gaussian;
  LoRATargets targets = LoRATargets::all;
  bool train_heads = true;  // per-member reward heads, initialised from the trunk's head
  EnsembleMean mean = EnsembleMean::members;
  DiversityNorm diversity = DiversityNorm::plain;
  // Where the member heads read the sequence: as the trunk's reward model was trained.
  RewardPooling pooling = RewardPooling::last_token;
};

class RewardEnsemble : public nn::Module {
 public:
  // Copies `trunk` (a GPT with a reward head) into a frozen trunk of its own
  // and adds K adapters to the chosen layers; A from `gen`, B zero, so every
  // member starts equal to the trunk.
  RewardEnsemble(const nn::GPT& trunk, Generator& gen, const RewardEnsembleOptions& options = {});

  // Member rewards [K, B] of a batch of (prompt, response) sequences, pooled
  // as options.pooling says (the batch's last_index or response_mask).
  Var member_rewards(const SequenceBatch& batch) const;
  // The same for bare token ids [B, T] under last-token pooling; last_index
  // [B] (i64) picks each row's last real token (undefined: position T - 1).
  Var member_rewards(const Tensor& idx, const Tensor& last_index = Tensor()) const;
  // The ensemble mean [B] as options.mean says (the mean of member_rewards,
  // or Eq. 11's layer-averaged pass).
  Var mean_reward(const SequenceBatch& batch) const;
  Var mean_reward(const Tensor& idx, const Tensor& last_index = Tensor()) const;

  // The diversity term -(1/M) sum_m N(A^(m)), A^(m) = [A_1; ..; A_K] of LoRA
  // module m as a [K r, in] matrix and N the chosen norm: a scalar to be
  // added to the loss times alpha (minimising it spreads the members' A).
  Var diversity_term() const;
  Var diversity_term(DiversityNorm norm) const;
  // The diversity statistic per LoRA module, ||A^(m)||_* / ||A^(m)||_F (no gradient): between 1 (every
  // row of A^(m) parallel) and sqrt(min(K r, in)) (orthogonal rows of equal length).
  std::vector<double> diversity_ratios() const;

  // -mean log sigma(r_bar(chosen) - r_bar(rejected)) over the batch (BT on the
  // ensemble mean, Eq. 12's first term).
  Var bradley_terry_loss(const SequenceBatch& chosen, const SequenceBatch& rejected) const;
  Var bradley_terry_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& chosen_last = Tensor(),
                         const Tensor& rejected_last = Tensor()) const;

  int64_t members() const { return options_.members; }
  const RewardEnsembleOptions& options() const { return options_; }
  const std::vector<std::shared_ptr<nn::LoRALinear>>& lora_modules() const { return loras_; }
  const nn::GPT& trunk() const { return *trunk_; }

  Var head_weight;  // [K, C]
  Var head_bias;    // [K]

 private:
  // Hidden states after the final LayerNorm: [K, B, T, C] (members) or
  // [B, T, C] (layer_average).
  Var hidden_states(const Tensor& idx, bool layer_average) const;
  Var apply(const nn::LoRALinear& lora, const Var& x, bool layer_average) const;
  const nn::LoRALinear* lora_for(const nn::Linear* linear) const;
  Tensor last_positions(const Tensor& idx, const Tensor& last_index) const;
  // Rewards read at the last positions or pooled over the mask [B, T] (whichever
  // options.pooling needs; the other may be undefined).
  Var member_rewards(const Tensor& idx, const Tensor& last_index, const Tensor& mask) const;
  Var mean_reward(const Tensor& idx, const Tensor& last_index, const Tensor& mask) const;
  Var bradley_terry_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& chosen_last,
                         const Tensor& rejected_last, const Tensor& chosen_mask, const Tensor& rejected_mask) const;
  // per_token [..., B, T] summed (or averaged) over the masked positions -> [..., B].
  Var pool_tokens(const Var& per_token, const Tensor& mask) const;

  RewardEnsembleOptions options_;
  std::shared_ptr<nn::GPT> trunk_;
  std::vector<std::shared_ptr<nn::LoRALinear>> loras_;
  std::vector<const nn::Linear*> lora_bases_;  // loras_[i] wraps lora_bases_[i]
};

// Copies the parameters and buffers of `from` into `to` (same architecture).
void copy_gpt(const nn::GPT& from, nn::GPT& to);

}  // namespace gradlab::alignment
