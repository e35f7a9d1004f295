// The library's answer to sac_temperature_loss: SAC's alpha loss
// (algorithms/rl/sac.cpp).
#include "algorithms/rl/sac.h"
#include "exercises/sac_temperature_loss/exercise.h"

namespace gradlab::exercise {

Var sac_temperature_loss(const Var& log_alpha, const Tensor& log_prob, double target_entropy) {
  return rl::sac_temperature_loss(log_alpha, log_prob, target_entropy);
}

}  // namespace gradlab::exercise
