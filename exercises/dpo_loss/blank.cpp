// Exercise dpo_loss (exercises/dpo_loss/statement.md). Write the body below,
// then grade it with:  make exercise NAME=dpo_loss
#include "autograd/ops.h"
#include "exercises/dpo_loss/exercise.h"
#include "exercises/grader.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// L = mean(-log sigmoid(beta h)), h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected).
Var dpo_loss(const Var& policy_chosen, const Var& policy_rejected, const Tensor& ref_chosen, const Tensor& ref_rejected,
             double beta) {
  throw NotImplemented("dpo_loss");
}

}  // namespace gradlab::exercise
