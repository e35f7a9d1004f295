// APT-style particle-based curiosity (Liu & Abbeel 2021; RE3, Seo et al. 2021;
// docs/papers/rl-baselines.md): the curiosity of a transition is the log of one plus the mean
// distance from its next-state embedding to its k nearest neighbours in the
// same batch,
//   r^i = log(1 + (1/k) sum_{j in kNN(s')} ||z(s') - z(s'_j)||)
// Choice made here: the embedding z is a fixed random encoder (the RE3
// reading); APT's contrastively learned encoder is not built, so update()
// trains nothing and returns 0.
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "nn/layers.h"

namespace gradlab::rl::curiosity {

class APT : public IntrinsicReward {
 public:
  APT(CuriosityOptions options, uint64_t seed);
  std::string name() const override { return "apt"; }
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
