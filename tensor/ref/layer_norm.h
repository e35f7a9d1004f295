// Reference layer norm over the last axis: the plain loops the fast kernel
// (tensor/cpu/layer_norm.cpp) is checked against. x is [rows, C], row-major
// with row stride C. For each row r, with x_i = x[r, i]:
//
//   mean  = (1/C) sum_i x_i
//   var   = (1/C) sum_i (x_i - mean)^2          (biased, two passes)
//   rstd  = 1 / sqrt(var + eps)
//   xhat_i = (x_i - mean) * rstd
//   y_i   = xhat_i * w_i + b_i
//
// and the backward, from dy and the saved mean and rstd, with g_i = dy_i * w_i:
//
//   dx_i  = rstd * (g_i - mean_j(g_j) - xhat_i * mean_j(g_j * xhat_j))
//   dw_i  = sum over rows of dy_i * xhat_i,     db_i = sum over rows of dy_i
//
// Every sum is accumulated in double, also for f32, and the variance is the
// two-pass one (no E[x^2] - E[x]^2 cancellation), so these loops are a
// better oracle than any f32 kernel. weight and bias may be null (w = 1, b = 0);
// dweight and dbias are computed either way.
#pragma once

#include <cstdint>

namespace gradlab::ref {

// y [rows, C], mean [rows], rstd [rows].
template <class T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, double eps, int64_t rows, int64_t C, T* y, T* mean,
                        T* rstd);

// dx [rows, C], dweight [C], dbias [C] (overwritten), from dy [rows, C] and
// the forward's saved mean and rstd [rows].
template <class T>
void layer_norm_backward(const T* dy, const T* x, const T* weight, const T* mean, const T* rstd, int64_t rows,
                         int64_t C, T* dx, T* dweight, T* dbias);

}  // namespace gradlab::ref
