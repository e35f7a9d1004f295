// Exercise attention_backward (exercises/attention_backward/statement.md).
// Write the body below, then grade it with:  make exercise NAME=attention_backward
#include <cmath>
#include <limits>

#include "exercises/attention_backward/exercise.h"
#include "exercises/grader.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// P = exp(S - lse) (0 where masked); dv = P^T dout; dS = P (dout v^T - rowsum(dout out));
// dq = dS k / sqrt(D); dk = dS^T q / sqrt(D).
AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, bool causal) {
  throw NotImplemented("attention_backward");
}

}  // namespace gradlab::exercise
