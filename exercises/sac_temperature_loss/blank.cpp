// Exercise sac_temperature_loss (exercises/sac_temperature_loss/statement.md).
// Write the body below, then grade it with:  make exercise NAME=sac_temperature_loss
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/sac_temperature_loss/exercise.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// L = mean(-alpha (log pi + target_entropy)), alpha = exp(log_alpha).
Var sac_temperature_loss(const Var& log_alpha, const Tensor& log_prob, double target_entropy) {
  throw NotImplemented("sac_temperature_loss");
}

}  // namespace gradlab::exercise
