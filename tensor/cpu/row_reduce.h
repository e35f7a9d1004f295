// Reductions of one contiguous row with independent vector accumulators, so
// the compiler keeps them in registers instead of chaining every addition
// through one (which it may not reorder without -ffast-math). Floating rows
// use GCC vector types, 64 bytes wide (split into narrower registers by
// -march when the machine has them); combined in a fixed order, so results do
// not depend on anything but the row. Used by the reduction kernels, softmax,
// attention and the fused losses.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
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
    if constexpr (std::is_floating_point_v<T>)
      return -std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::lowest();
  }
  static Acc combine(Acc a, Acc b) { return fn::Maximum{}(a, b); }
};
template <class T>
struct MinOp {  // NaN propagates
  using Acc = T;
  static Acc init() {
    if constexpr (std::is_floating_point_v<T>)
      return std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::max();
  }
  static Acc combine(Acc a, Acc b) { return fn::Minimum{}(a, b); }
};

// Op-reduction of x[0..n) with 16 scalar accumulators combined in a fixed
// order (integers, and the generic path).
template <class T, class Op>
typename Op::Acc reduce_row(const T* x, int64_t n) {
  using Acc = typename Op::Acc;
  constexpr int kLanes = 16;
  if (n < kLanes) {
    // A short row (a softmax over a few actions, a pair's sum): every element
    // lands in lane 0 in order, and the tree below folds lane 0 with lanes
    // that still hold init() four times; the same folds without the lanes.
    Acc a = Op::init();
    for (int64_t i = 0; i < n; ++i) a = Op::combine(a, Acc(x[i]));
    for (int w = kLanes / 2; w > 0; w /= 2) a = Op::combine(a, Op::init());
    return a;
  }
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

// One 64-byte vector of T, loaded and stored without alignment assumptions.
template <class T>
struct RowVec {
  typedef T type __attribute__((vector_size(64)));
  static constexpr int lanes = 64 / int(sizeof(T));
  static type load(const T* p) {
    type v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static type splat(T x) { return type{} + x; }
};

// The largest element of a floating row (NaN if any is NaN; -inf if n == 0).
template <class T>
T max_row(const T* x, int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    using R = RowVec<T>;
    using V = typename R::type;
    constexpr int L = R::lanes;
    if (n < 2 * L) {  // the vector lanes below would all stay -inf: the tail alone
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t i = 0; i < n; ++i) m = fn::Maximum{}(m, x[i]);
      return m;
    }
    V a = R::splat(-std::numeric_limits<T>::infinity()), b = a;
    int64_t i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
      const V u = R::load(x + i), w = R::load(x + i + L);
      a = (u > a) | (u != u) ? u : a;
      b = (w > b) | (w != w) ? w : b;
    }
    a = (b > a) | (b != b) ? b : a;
    T m = a[0];
    for (int j = 1; j < L; ++j) m = fn::Maximum{}(m, a[j]);
    for (; i < n; ++i) m = fn::Maximum{}(m, x[i]);
    return m;
  } else {
    return reduce_row<T, MaxOp<T>>(x, n);
  }
}

// The sum of a floating row, accumulated in f64.
template <class T>
double sum_row(const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    using R = RowVec<double>;
    using V = typename R::type;  // 8 doubles
    if (n < 16) {  // the vector lanes below would add up to +0: the tail alone
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += double(x[i]);
      return s;
    }
    V a{}, b{};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      typedef float F8 __attribute__((vector_size(32)));
      F8 u, w;
      std::memcpy(&u, x + i, sizeof u);
      std::memcpy(&w, x + i + 8, sizeof w);
      a += __builtin_convertvector(u, V);
      b += __builtin_convertvector(w, V);
    }
    a += b;
    double s = 0;
    for (int j = 0; j < 8; ++j) s += a[j];
    for (; i < n; ++i) s += double(x[i]);
    return s;
  } else if constexpr (std::is_same_v<T, double>) {
    using R = RowVec<double>;
    using V = typename R::type;
    V a{}, b{};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      a += R::load(x + i);
      b += R::load(x + i + 8);
    }
    a += b;
    double s = 0;
    for (int j = 0; j < 8; ++j) s += a[j];
    for (; i < n; ++i) s += x[i];
    return s;
  } else {
    return double(reduce_row<T, SumOp<T>>(x, n));
  }
}

}  // namespace gradlab::cpu
