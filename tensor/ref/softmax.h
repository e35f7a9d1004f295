// Reference row softmax: the plain loops the fast softmax (tensor/cpu/axis_ops.cpp)
// and attention's probabilities (tensor/cpu/attention.cpp) are checked against.
// For each row x of length n:
//
//   m   = max_j x_j
//   y_i = exp(x_i - m) / sum_j exp(x_j - m)
//   lse = m + log sum_j exp(x_j - m)          (= log sum_j exp(x_j))
//
// Subtracting the row maximum changes nothing mathematically (it cancels) but
// keeps every exp() <= 1, so nothing overflows. The sum is taken in double.
// Entries of -inf (masked) get probability 0; a row that is all -inf gets all
// zeros and lse = -inf, the convention attention uses for a query that sees no key.
#pragma once

#include <cstdint>

namespace gradlab::ref {

// One row: y = softmax(x) over x[0, n); returns lse. y may alias x.
template <class T>
double softmax_row(const T* x, int64_t n, T* y);

// Every row of a row-major [rows, n] x into y (same shape; may alias x).
// lse [rows] receives each row's log-sum-exp when not null.
template <class T>
void softmax_rows(const T* x, int64_t rows, int64_t n, T* y, T* lse = nullptr);

}  // namespace gradlab::ref
