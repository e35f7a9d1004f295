// APT, active pre-training (Liu & Abbeel 2021; docs/papers/rl-baselines.md "APT and
// RE3"): a learned representation z = e(s), trained contrastively, and the
// particle entropy reward on it. The contrastive loss is InfoNCE between the
// embeddings of s and of s' of the same transition, the other transitions of
// the minibatch as negatives:
//   u_i = n(e(s_i)), v_j = n(e(s'_j)),  L = -(1/N) sum_i log softmax_j(u_i . v_j / T)[i]
// The reward normalises each k-NN distance of e(s') within the batch by a
// running mean of all k-NN distances seen so far (updated before use):
//   r^i = log(c + (1/k) sum_{j in kNN(s')} ||e(s') - e(s'_j)|| / running_mean),  c = 1
// Choices made here: one encoder for s and s' (no separate projector), the
// temperature T a flag (apt_temperature, 0.5), the running mean a count-weighted
// mean of every distance seen (as a running-statistics object with no decay).
// The running mean is a 0-d f64 tensor on the module's device, so on a device
// the reward reads nothing back but check_batch's action range; update() reads
// that and its loss.
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "nn/layers.h"

namespace gradlab::rl::curiosity {

class APT : public LearnedIntrinsicReward {
 public:
  APT(CuriosityOptions options, uint64_t seed);
  std::string name() const override { return "apt"; }
  Tensor reward(const TransitionBatch& batch) override;

  // InfoNCE of row-aligned embeddings z [N, F] (anchors) and z_next [N, F]
  // (positives on the diagonal): a scalar with a graph to both.
  static Var contrastive_loss(const Var& z, const Var& z_next, double temperature);
  // log(c + mean_j d_ij / running_mean) for k-NN distances d [N, k] (on the
  // module's device) after folding them into the running mean; [N] f32.
  Tensor normalized_knn_reward(const Tensor& distances);
  double running_mean() const { return mean_.item(); }  // one host read, for tests and logs
  int64_t running_count() const { return count_; }

  nn::MLP encoder;  // D -> hidden -> F, trained by contrastive_loss

 protected:
  Var loss(const TransitionBatch& batch) override;

 private:
  Tensor mean_;  // 0-d f64 on options.device
  int64_t count_ = 0;
};

}  // namespace gradlab::rl::curiosity
