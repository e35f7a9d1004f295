// Exercise bradley_terry_loss (exercises/bradley_terry_loss/statement.md).
// Write the body below, then grade it with:  make exercise NAME=bradley_terry_loss
#include "autograd/ops.h"
#include "exercises/bradley_terry_loss/exercise.h"
#include "exercises/grader.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// L = mean(-log sigmoid(r_chosen - r_rejected)).
Var bradley_terry_loss(const Var& r_chosen, const Var& r_rejected) {
  throw NotImplemented("bradley_terry_loss");
}

}  // namespace gradlab::exercise
