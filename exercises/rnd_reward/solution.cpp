// The library's answer to rnd_reward: RND::distillation_error
// (algorithms/rl/curiosity/rnd.cpp).
#include "exercises/rnd_reward/exercise.h"

namespace gradlab::exercise {

Var distillation_error(const rl::curiosity::RND& rnd, const Tensor& x) { return rnd.distillation_error(x); }

}  // namespace gradlab::exercise
