// Reference scaled dot-product attention, forward and backward: the plain loops
// the fast kernel (tensor/cpu/attention.cpp, reached through
// tensor/fused_layers.h) is checked against, with its layout and conventions.
// q, k, v, out are contiguous [B, H, T, D] (batch, head, position, feature);
// every (batch, head) is an independent problem. For one head, with
// visible(i, j) = (j <= i when causal) and key_mask[b, j] (when given):
//
//   s_ij  = q_i . k_j / sqrt(D)                      for visible j, else -inf
//   P_ij  = exp(s_ij - lse_i),   lse_i = log sum_j exp(s_ij)     (row softmax)
//   out_i = sum_j P_ij v_j
//
// and the backward from dout:
//
//   dv_j  = sum_i P_ij dout_i
//   dP_ij = dout_i . v_j
//   dS_ij = P_ij (dP_ij - sum_l P_il dP_il)
//   dq_i  = sum_j dS_ij k_j / sqrt(D),    dk_j = sum_i dS_ij q_i / sqrt(D)
//
// A query that sees no key gets out_i = 0, lse_i = -inf and no gradient. The
// T x T scores and probabilities are held whole, in double, for each head:
// simple and accurate rather than fast. The backward recomputes P from q and
// k itself (it takes neither out nor lse), so a wrong forward cannot hide a
// wrong backward.
#pragma once

#include <cstdint>

namespace gradlab::ref {

struct AttentionShape {
  int64_t B, H, T, D;
};

// out [B, H, T, D] and lse [B, H, T]. key_mask [B, T] (true = visible) or null.
template <class T>
void attention_forward(const T* q, const T* k, const T* v, AttentionShape shape, bool causal, const bool* key_mask,
                       T* out, T* lse);

// dq, dk, dv [B, H, T, D] from dout [B, H, T, D].
template <class T>
void attention_backward(const T* dout, const T* q, const T* k, const T* v, AttentionShape shape, bool causal,
                        const bool* key_mask, T* dq, T* dk, T* dv);

}  // namespace gradlab::ref
