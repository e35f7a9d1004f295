// Exercise rnd_reward (exercises/rnd_reward/statement.md). Write the body
// below, then grade it with:  make exercise NAME=rnd_reward
#include "algorithms/rl/curiosity/rnd.h"
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/rnd_reward/exercise.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// e_n = ||f^(x_n) - f(x_n)||^2 per row, f^ = rnd.predictor, f = rnd.target (no gradient into f).
Var distillation_error(const rl::curiosity::RND& rnd, const Tensor& x) {
  throw NotImplemented("distillation_error");
}

}  // namespace gradlab::exercise
