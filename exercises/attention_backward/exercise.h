// Exercise attention_backward: the gradients of scaled dot-product attention.
#pragma once

#include "tensor/fused_layers.h"

namespace gradlab::exercise {

// out = P v, P = softmax(S), S = q k^T / sqrt(D) (+ -inf above the diagonal
// when causal), for q, k, v [B, H, T, D] (f64). From dout [B, H, T, D] and the
// forward's out and lse [B, H, T] (lse_i = log sum_j exp(S_ij)):
//   P = exp(S - lse),  dv = P^T dout,  dP = dout v^T,
//   dS = P * (dP - rowsum(dout * out)),  dq = dS k / sqrt(D),  dk = dS^T q / sqrt(D).
AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, bool causal);

}  // namespace gradlab::exercise
