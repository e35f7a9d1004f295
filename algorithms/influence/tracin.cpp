// TracInInfluence: score(m) = sum_c lr_c g_q(theta_c) . g_m(theta_c), by
// loading each checkpoint into the parameters (restore()), one query gradient
// and k example gradients there, and the current values restored at the end.
// Everything runs on the problem's device (the checkpoints are copied there
// once, at fit()); the host reads the k scores once, at the end.
#include "algorithms/influence/tracin.h"

#include <cmath>

#include "algorithms/influence/training_hessian.h"
#include "autograd/ops.h"

namespace gradlab::influence {

namespace {

// Puts saved parameter values back when it goes out of scope.
class RestoreOnExit {
 public:
  RestoreOnExit(const std::vector<Var>& params) : params_(params), saved_(snapshot(params)) {}
  ~RestoreOnExit() { restore(params_, saved_); }
  RestoreOnExit(const RestoreOnExit&) = delete;
  RestoreOnExit& operator=(const RestoreOnExit&) = delete;

 private:
  const std::vector<Var>& params_;
  std::vector<Tensor> saved_;
};

}  // namespace

TracInInfluence::TracInInfluence(std::vector<TracInCheckpoint> checkpoints) : checkpoints_(std::move(checkpoints)) {
  GL_CHECK(!checkpoints_.empty(), "TracInInfluence: no checkpoints given");
  for (size_t c = 0; c < checkpoints_.size(); ++c)
    GL_CHECK(std::isfinite(checkpoints_[c].learning_rate), "TracInInfluence: checkpoint {} has learning rate {}", c,
             checkpoints_[c].learning_rate);
}

void TracInInfluence::fit(const Problem& problem) {
  check_problem(problem, "TracInInfluence::fit");
  for (size_t c = 0; c < checkpoints_.size(); ++c) {
    const std::vector<Tensor>& values = checkpoints_[c].values;
    GL_CHECK(values.size() == problem.params.size(), "TracInInfluence::fit: checkpoint {} holds {} tensors for {} parameters",
             c, values.size(), problem.params.size());
    for (size_t i = 0; i < values.size(); ++i)
      GL_CHECK(values[i].defined() && values[i].shape() == problem.params[i].shape(),
               "TracInInfluence::fit: checkpoint {} tensor {} has shape {} but parameter {} has shape {}", c, i,
               values[i].defined() ? values[i].shape() : Shape{}, i, problem.params[i].shape());
  }
  // The checkpoints on the problem's device, so that loading one is a copy there.
  const Device device = problem_device(problem);
  device_checkpoints_.clear();
  for (const TracInCheckpoint& checkpoint : checkpoints_) {
    TracInCheckpoint moved{{}, checkpoint.learning_rate};
    for (const Tensor& value : checkpoint.values) moved.values.push_back(value.to(device));
    device_checkpoints_.push_back(std::move(moved));
  }
  problem_ = problem;
  fitted_ = true;
}

Tensor TracInInfluence::score(const QueryLoss& query, const std::vector<int64_t>& train_examples) {
  GL_CHECK(fitted_, "TracInInfluence::score: called before fit()");
  check_rows(problem_, train_examples, "TracInInfluence::score");
  Tensor total = zeros({int64_t(train_examples.size())}, DType::f64, problem_device(problem_));
  {
    RestoreOnExit put_back(problem_.params);
    for (const TracInCheckpoint& checkpoint : device_checkpoints_) {
      restore(problem_.params, checkpoint.values);
      const Tensor g_q = query_gradient(query, problem_.params, "TracInInfluence::score");
      total = total + example_gradient_dots(problem_, train_examples, g_q) * checkpoint.learning_rate;
    }
  }
  return total.to(Device::cpu);
}

}  // namespace gradlab::influence
