// Exercise cross_entropy_backward (exercises/cross_entropy_backward/statement.md).
// Write the body below, then grade it with:  make exercise NAME=cross_entropy_backward
#include "exercises/cross_entropy_backward/exercise.h"
#include "exercises/grader.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// dlogits[n, c] = (softmax(logits[n])_c - [c == target_n]) dloss_n; zero rows where target_n < 0.
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& dloss) {
  throw NotImplemented("cross_entropy_backward");
}

}  // namespace gradlab::exercise
