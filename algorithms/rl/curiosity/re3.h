// RE3, random-encoder state entropy (Seo et al. 2021; docs/papers/rl-baselines.md
// "APT and RE3"): the curiosity of a transition is the log of one plus the mean
// distance from its next-state embedding to its k nearest neighbours in the
// same batch, on a fixed random encoder:
//   r^i = log(1 + (1/k) sum_{j in kNN(s')} ||z(s') - z(s'_j)||)
// The encoder never trains (update() returns 0) and the distances are not
// normalised; APT (apt.h) learns its encoder and normalises them.
// On a device, reward() reads one thing back: check_batch's action range.
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "nn/layers.h"

namespace gradlab::rl::curiosity {

class RE3 : public IntrinsicReward {
 public:
  RE3(CuriosityOptions options, uint64_t seed);
  std::string name() const override { return "re3"; }
  Tensor reward(const TransitionBatch& batch) override;
  double update(const TransitionBatch&) override { return 0.0; }

  // The k-NN particle reward of embeddings z [N, F]: [N].
  static Tensor knn_reward(const Tensor& z, int64_t k);

 private:
  CuriosityOptions options_;
  Generator gen_;

 public:
  nn::MLP encoder;  // D -> hidden -> F, fixed
};

}  // namespace gradlab::rl::curiosity
