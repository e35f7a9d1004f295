// Exercise adam_step (exercises/adam_step/statement.md). Write the body below,
// then grade it with:  make exercise NAME=adam_step
#include <cmath>

#include "exercises/adam_step/exercise.h"
#include "exercises/grader.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// AdamW: p *= 1 - lr wd (Adam: g += wd p); m, v moving averages of g and g^2;
// p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps).
AdamState adam_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                    const AdamHyperparams& h) {
  throw NotImplemented("adam_step");
}

}  // namespace gradlab::exercise
