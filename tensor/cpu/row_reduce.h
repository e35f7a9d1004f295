// Reductions of one contiguous row with several independent accumulators, so
// that the compiler keeps them in vector registers instead of chaining every
// addition through one (which it may not reorder without -ffast-math). Used by
// the reduction kernels, softmax, and the fused kernels built on them.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "tensor/functors.h"

namespace gradlab::cpu {

template <class T>
struct SumOp {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;  // f32 sums in f64
  static Acc init() { return Acc(0); }
  static Acc combine(Acc a, Acc b) { return a + b; }
};
template <class T>
struct MaxOp {  // NaN propagates
  using Acc = T;
  static Acc init() {
    if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::lowest();
  }
  static Acc combine(Acc a, Acc b) { return fn::Maximum{}(a, b); }
};
template <class T>
struct MinOp {  // NaN propagates
  using Acc = T;
  static Acc init() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::max();
  }
  static Acc combine(Acc a, Acc b) { return fn::Minimum{}(a, b); }
};

// Op-reduction of x[0..n) with 16 accumulators combined in a fixed order.
template <class T, class Op>
typename Op::Acc reduce_row(const T* x, int64_t n) {
  using Acc = typename Op::Acc;
  constexpr int kLanes = 16;
  Acc acc[kLanes];
  for (int j = 0; j < kLanes; ++j) acc[j] = Op::init();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] = Op::combine(acc[j], Acc(x[i + j]));
  for (; i < n; ++i) acc[0] = Op::combine(acc[0], Acc(x[i]));
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], acc[j + w]);
  return acc[0];
}

template <class T>
double sum_row(const T* x, int64_t n) {
  return double(reduce_row<T, SumOp<T>>(x, n));
}
template <class T>
T max_row(const T* x, int64_t n) {
  return reduce_row<T, MaxOp<T>>(x, n);
}

}  // namespace gradlab::cpu
