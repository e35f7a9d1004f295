// Exercise cross_entropy_backward: softmax minus one-hot.
#pragma once

#include "tensor/tensor.h"

namespace gradlab::exercise {

// loss_n = lse_n - logits[n, target_n], lse_n = log sum_c exp(logits[n, c]),
// for logits [N, C] (f64) and class indices target [N] (i64; a negative target
// marks an ignored row). From dloss [N] and the forward's lse [N]:
//   dlogits[n, c] = (exp(logits[n, c] - lse_n) - [c == target_n]) * dloss_n,
// and a row whose target is negative gets zeros.
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& dloss);

}  // namespace gradlab::exercise
