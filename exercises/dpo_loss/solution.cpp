// The library's answer to dpo_loss: alignment::dpo_loss (algorithms/alignment/
// dpo.cpp) configured for plain DPO. (label_smoothing is read by cDPO only.)
#include "algorithms/alignment/dpo.h"
#include "exercises/dpo_loss/exercise.h"

namespace gradlab::exercise {

Var dpo_loss(const Var& policy_chosen, const Var& policy_rejected, const Tensor& ref_chosen, const Tensor& ref_rejected,
             double beta) {
  alignment::DPOConfig config;
  config.loss = alignment::PreferenceLoss::dpo;
  config.beta = beta;
  return alignment::dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, config);
}

}  // namespace gradlab::exercise
