// TracIn (Pruthi et al. 2020, the checkpoint approximation): replaces H^-1 by
// the training trajectory, summing gradient dot products over saved
// checkpoints theta_c with their learning rates,
//
//   score(m) = sum_c lr_c g_q(theta_c) . g_m(theta_c).
//
// Positive: a step on z_m at theta_c lowers the query loss to first order.
// Cost per query: C checkpoints x (1 + k) backward passes for k scored
// examples; memory C parameter copies. No fit-time work beyond checks and
// copying the checkpoints to the problem's device.
#pragma once

#include "algorithms/influence/influence.h"

namespace gradlab::influence {

// The parameter values at one point of training, one tensor per problem
// parameter (as snapshot() returns them), and the learning rate in use there.
struct TracInCheckpoint {
  std::vector<Tensor> values;
  double learning_rate = 1;
};

class TracInInfluence : public Estimator {
 public:
  explicit TracInInfluence(std::vector<TracInCheckpoint> checkpoints);
  std::string name() const override { return "tracin"; }
  void fit(const Problem& problem) override;
  // Loads each checkpoint into the parameters in turn, and puts the current
  // values back afterwards (also when the query or a loss throws).
  Tensor score(const QueryLoss& query, const std::vector<int64_t>& train_examples) override;

 private:
  std::vector<TracInCheckpoint> checkpoints_;
  std::vector<TracInCheckpoint> device_checkpoints_;  // the same values on the problem's device (fit)
  Problem problem_;
  bool fitted_ = false;
};

}  // namespace gradlab::influence
