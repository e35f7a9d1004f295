// Fused loss kernels with their own entries: cross-entropy of logits [N, C]
// against class indices [N], forward (log-sum-exp and negative log-likelihood
// in one pass per row) and backward (softmax minus one-hot in one pass). A row
// whose target is negative is ignored: its loss and its gradient are zero.
// autograd/losses.cpp builds the differentiable cross_entropy on these.
#pragma once

#include "tensor/tensor.h"

namespace gradlab {

struct CrossEntropyForward {
  Tensor loss;  // [N], logits' dtype: lse - logits[target], 0 where target < 0
  Tensor lse;   // [N], logits' dtype: log sum_c exp(logits[c]), every row
};

// logits [N, C] (f32 or f64), target [N] (i64, each < C; negative = ignored).
CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& target);

// dlogits [N, C] = (softmax(logits) - onehot(target)) * dloss per row, from the
// forward's lse [N]; rows with a negative target are zero. dloss [N] has the
// logits' dtype.
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& dloss);

}  // namespace gradlab
