// The library's answer to bradley_terry_loss: the reward model's loss
// (algorithms/alignment/reward_model.cpp).
#include "algorithms/alignment/reward_model.h"
#include "exercises/bradley_terry_loss/exercise.h"

namespace gradlab::exercise {

Var bradley_terry_loss(const Var& r_chosen, const Var& r_rejected) {
  return alignment::bradley_terry_loss(r_chosen, r_rejected);
}

}  // namespace gradlab::exercise
