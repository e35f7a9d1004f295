// Reference attention (equations in attention.h): for each (batch, head), the
// scores s = q k^T / sqrt(D) with the masked entries at -inf, a row softmax
// (softmax.h), then out = P v; the backward builds P and dS whole and forms
// dq, dk, dv from them. Everything in double.
#include "tensor/ref/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "tensor/error.h"
#include "tensor/ref/softmax.h"

namespace gradlab::ref {

namespace {

// Row i of one head's [T, D] matrix.
template <class T>
const T* row(const T* head, int64_t i, int64_t D) {
  return head + i * D;
}

// P [T, T] of one head: the masked, scaled scores, then a softmax per row.
// lse[i] receives each row's log-sum-exp.
template <class T>
void probabilities(const T* q, const T* k, int64_t Tn, int64_t D, bool causal, const bool* keep, double* P,
                   double* lse) {
  const double scale = 1.0 / std::sqrt(double(D));
  for (int64_t i = 0; i < Tn; ++i)
    for (int64_t j = 0; j < Tn; ++j) {
      const bool visible = (!causal || j <= i) && (keep == nullptr || keep[j]);
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += double(row(q, i, D)[d]) * double(row(k, j, D)[d]);
      P[i * Tn + j] = visible ? s * scale : -std::numeric_limits<double>::infinity();
    }
  for (int64_t i = 0; i < Tn; ++i) lse[i] = softmax_row(P + i * Tn, Tn, P + i * Tn);
}

void check_shape(AttentionShape s, const char* op) {
  GL_CHECK(s.B >= 0 && s.H >= 0 && s.T >= 0 && s.D > 0, "{}: bad shape B={} H={} T={} D={}", op, s.B, s.H, s.T, s.D);
}

}  // namespace

template <class T>
void attention_forward(const T* q, const T* k, const T* v, AttentionShape shape, bool causal, const bool* key_mask,
                       T* out, T* lse) {
  check_shape(shape, "ref::attention_forward");
  const auto [B, H, Tn, D] = shape;
  std::vector<double> P(static_cast<size_t>(Tn * Tn)), row_lse(static_cast<size_t>(Tn));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t head = (b * H + h) * Tn * D;  // offset of this head's [T, D]
      probabilities(q + head, k + head, Tn, D, causal, key_mask ? key_mask + b * Tn : nullptr, P.data(), row_lse.data());
      for (int64_t i = 0; i < Tn; ++i) {
        for (int64_t d = 0; d < D; ++d) {  // out_i = sum_j P_ij v_j
          double o = 0;
          for (int64_t j = 0; j < Tn; ++j) o += P[size_t(i * Tn + j)] * double(v[head + j * D + d]);
          out[head + i * D + d] = T(o);
        }
        lse[(b * H + h) * Tn + i] = T(row_lse[size_t(i)]);
      }
    }
}

template <class T>
void attention_backward(const T* dout, const T* q, const T* k, const T* v, AttentionShape shape, bool causal,
                        const bool* key_mask, T* dq, T* dk, T* dv) {
  check_shape(shape, "ref::attention_backward");
  const auto [B, H, Tn, D] = shape;
  const double scale = 1.0 / std::sqrt(double(D));
  std::vector<double> P(static_cast<size_t>(Tn * Tn)), dS(P.size()), row_lse(static_cast<size_t>(Tn));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t head = (b * H + h) * Tn * D;
      probabilities(q + head, k + head, Tn, D, causal, key_mask ? key_mask + b * Tn : nullptr, P.data(), row_lse.data());
      // dS_ij = P_ij (dP_ij - sum_l P_il dP_il) with dP_ij = dout_i . v_j
      for (int64_t i = 0; i < Tn; ++i) {
        double row_sum = 0;
        for (int64_t j = 0; j < Tn; ++j) {
          double dp = 0;
          for (int64_t d = 0; d < D; ++d) dp += double(dout[head + i * D + d]) * double(v[head + j * D + d]);
          dS[size_t(i * Tn + j)] = dp;
          row_sum += P[size_t(i * Tn + j)] * dp;
        }
        for (int64_t j = 0; j < Tn; ++j) dS[size_t(i * Tn + j)] = P[size_t(i * Tn + j)] * (dS[size_t(i * Tn + j)] - row_sum);
      }
      for (int64_t d = 0; d < D; ++d) {
        for (int64_t i = 0; i < Tn; ++i) {  // dq_i = sum_j dS_ij k_j / sqrt(D)
          double s = 0;
          for (int64_t j = 0; j < Tn; ++j) s += dS[size_t(i * Tn + j)] * double(k[head + j * D + d]);
          dq[head + i * D + d] = T(s * scale);
        }
        for (int64_t j = 0; j < Tn; ++j) {  // dk_j = sum_i dS_ij q_i / sqrt(D), dv_j = sum_i P_ij dout_i
          double sk = 0, sv = 0;
          for (int64_t i = 0; i < Tn; ++i) {
            sk += dS[size_t(i * Tn + j)] * double(q[head + i * D + d]);
            sv += P[size_t(i * Tn + j)] * double(dout[head + i * D + d]);
          }
          dk[head + j * D + d] = T(sk * scale);
          dv[head + j * D + d] = T(sv);
        }
      }
    }
}

template void attention_forward<float>(const float*, const float*, const float*, AttentionShape, bool, const bool*,
                                       float*, float*);
template void attention_forward<double>(const double*, const double*, const double*, AttentionShape, bool, const bool*,
                                        double*, double*);
template void attention_backward<float>(const float*, const float*, const float*, const float*, AttentionShape, bool,
                                        const bool*, float*, float*, float*);
template void attention_backward<double>(const double*, const double*, const double*, const double*, AttentionShape,
                                         bool, const bool*, double*, double*, double*);

}  // namespace gradlab::ref
