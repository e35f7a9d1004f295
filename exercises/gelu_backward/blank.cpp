// Exercise gelu_backward (exercises/gelu_backward/statement.md). Write the body
// below, then grade it with:  make exercise NAME=gelu_backward
#include <cmath>

#include "exercises/gelu_backward/exercise.h"
#include "exercises/grader.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// dx = dout * (Phi(x) + x phi(x)), Phi the standard normal CDF and phi its density.
Tensor gelu_backward(const Tensor& x, const Tensor& y, const Tensor& dout) {
  throw NotImplemented("gelu_backward");
}

}  // namespace gradlab::exercise
