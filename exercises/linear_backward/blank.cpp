// Exercise linear_backward (exercises/linear_backward/statement.md). Write the
// body below, then grade it with:  make exercise NAME=linear_backward
#include "exercises/grader.h"
#include "exercises/linear_backward/exercise.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// dx = dout W, dW = dout^T x, db = sum_n dout[n, :].
LinearGrads linear_backward(const Tensor& dout, const Tensor& x, const Tensor& weight) {
  throw NotImplemented("linear_backward");
}

}  // namespace gradlab::exercise
